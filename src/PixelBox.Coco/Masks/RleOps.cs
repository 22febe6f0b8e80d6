namespace PixelBox.Masks;

/// <summary>
/// Mask operations over runs, without decoding, behaving as pycocotools' mask API (maskApi.c of
/// cocodataset/cocoapi): polygon and box rasterisation, area, bounding box, union/intersection and IoU.
/// </summary>
public static class RleOps
{
    /// <summary>
    /// The mask of a COCO polygon segmentation, as pycocotools' frPyObjects + merge (annToRLE): each polygon
    /// [x0, y0, x1, y1, ...] is rasterised on its own (rleFrPoly), then the results are united.
    /// </summary>
    /// <exception cref="ArgumentException">No polygon, a polygon without a point, or a non-finite or huge coordinate.</exception>
    public static Rle FromPolygons(IReadOnlyList<double[]> polygons, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        if (polygons.Count == 0)
            throw new ArgumentException("a polygon segmentation needs at least one polygon", nameof(polygons));
        var rles = new Rle[polygons.Count];
        for (int i = 0; i < rles.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(polygons[i], nameof(polygons));
            rles[i] = PolygonRasterizer.Rasterize(polygons[i], height, width);
        }
        return rles.Length == 1 ? rles[0] : Merge(rles, intersect: false);
    }

    /// <summary>The mask of box [x, y, w, h] (pycocotools' rleFrBbox: the box rasterised as a polygon).</summary>
    public static Rle FromBox(double x, double y, double w, double h, int height, int width)
    {
        double xe = x + w, ye = y + h;
        return PolygonRasterizer.Rasterize([x, y, x, ye, xe, ye, xe, y], height, width);
    }

    /// <summary>Number of 1 pixels (rleArea).</summary>
    public static long Area(Rle rle)
    {
        ArgumentNullException.ThrowIfNull(rle);
        long area = 0;
        var counts = rle.Counts;
        for (int j = 1; j < counts.Length; j += 2)
            area += counts[j];
        return area;
    }

    /// <summary>Bounding box [x, y, w, h] of the 1 pixels (rleToBbox); all zeros for an empty mask.</summary>
    public static double[] ToBox(Rle rle)
    {
        ArgumentNullException.ThrowIfNull(rle);
        var (x, y, w, h) = BoundingBox(rle);
        return [x, y, w, h];
    }

    /// <summary>Union (or intersection) of masks of one size (rleMerge).</summary>
    /// <exception cref="ArgumentException">No mask, masks of different sizes, or inner zero-length runs that
    /// pycocotools' merge would truncate.</exception>
    public static Rle Merge(IReadOnlyList<Rle> rles, bool intersect)
    {
        ArgumentNullException.ThrowIfNull(rles);
        if (rles.Count == 0)
            throw new ArgumentException("nothing to merge", nameof(rles));
        var first = rles[0];
        ArgumentNullException.ThrowIfNull(first, nameof(rles));
        int h = first.Height, w = first.Width;
        var merged = first.Counts;
        int mergedLength = merged.Length;
        for (int i = 1; i < rles.Count; i++)
        {
            var other = rles[i];
            ArgumentNullException.ThrowIfNull(other, nameof(rles));
            if (other.Height != h || other.Width != w)
                throw new ArgumentException(
                    $"cannot merge a {other.Height}x{other.Width} mask with a {h}x{w} mask", nameof(rles));
            (merged, mergedLength) = MergePair(merged.AsSpan(0, mergedLength), other.Counts, intersect);
            // pycocotools' merge loop stops early when both inputs reach a zero-length run at the same place
            // with more runs after it, leaving a truncated RLE (and merging that with a further mask never
            // ends); such input is rejected rather than mangled.
            ulong sum = 0;
            foreach (var c in merged.AsSpan(0, mergedLength))
                sum += c;
            if (sum != (ulong)h * (ulong)w)
                throw new ArgumentException(
                    "cannot merge these masks: they have zero-length runs inside that pycocotools mishandles", nameof(rles));
        }
        var counts = merged.AsSpan(0, mergedLength).ToArray();
        return new Rle(h, w, counts);
    }

    /// <summary>One step of rleMerge, ported loop for loop (its termination and zero-run handling included).</summary>
    static (uint[] Counts, int Length) MergePair(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, bool intersect)
    {
        // Every iteration consumes a run of a or b, and emits at most one run.
        var output = new uint[a.Length + b.Length + 2];
        if (a.Length == 0 || b.Length == 0)
            return (output, 0);
        int m = 0, ia = 1, ib = 1;
        uint ca = a[0], cb = b[0], cc = 0, ct = 1;
        bool v = false, va = false, vb = false;
        while (ct > 0)
        {
            uint c = Math.Min(ca, cb);
            cc += c;
            ct = 0;
            ca -= c;
            if (ca == 0 && ia < a.Length)
            {
                ca = a[ia++];
                va = !va;
            }
            ct += ca;
            cb -= c;
            if (cb == 0 && ib < b.Length)
            {
                cb = b[ib++];
                vb = !vb;
            }
            ct += cb;
            bool vp = v;
            v = intersect ? va && vb : va || vb;
            if (v != vp || ct == 0)
            {
                output[m++] = cc;
                cc = 0;
            }
        }
        return (output, m);
    }

    /// <summary>
    /// IoU matrix as pycocotools' rleIou: <c>result[d * gt.Count + g]</c>. For a crowd ground truth the
    /// denominator is the detection's area (intersection / area(dt)). Pairs whose bounding boxes do not
    /// overlap are 0 without looking at their runs, exactly as pycocotools' bbIou pre-check.
    /// </summary>
    /// <exception cref="ArgumentException">Masks of different sizes, iscrowd not one per ground truth, or result too short.</exception>
    public static void Iou(IReadOnlyList<Rle> dt, IReadOnlyList<Rle> gt, IReadOnlyList<bool> iscrowd, Span<double> result)
    {
        ArgumentNullException.ThrowIfNull(dt);
        ArgumentNullException.ThrowIfNull(gt);
        ArgumentNullException.ThrowIfNull(iscrowd);
        int m = dt.Count, n = gt.Count;
        CheckIouShapes(m, n, iscrowd.Count, result.Length);
        if (m == 0 || n == 0)
            return;
        CheckSameSize(dt, gt[0]);
        CheckSameSize(gt, gt[0]);

        var dtOperands = new IouOperand[m];
        for (int d = 0; d < m; d++)
            dtOperands[d] = new IouOperand(dt[d]);
        var gtOperands = new IouOperand[n];
        for (int g = 0; g < n; g++)
            gtOperands[g] = new IouOperand(gt[g]);
        long h = gt[0].Height;

        for (int d = 0; d < m; d++)
        {
            var a = dtOperands[d];
            var row = result.Slice(d * n, n);
            for (int g = 0; g < n; g++)
            {
                var b = gtOperands[g];
                // bbIou's "w > 0 and h > 0": only then does pycocotools look at the runs.
                long x0 = Math.Max(a.X0, b.X0), x1 = Math.Min(a.X1, b.X1);
                if (x1 - x0 <= 0 || Math.Min(a.Y1, b.Y1) - Math.Max(a.Y0, b.Y0) <= 0)
                {
                    row[g] = 0;
                    continue;
                }
                if (a.RunEnds is null || b.RunEnds is null)
                {
                    row[g] = RunIou(a.Counts, b.Counts, iscrowd[g], a.Area);
                    continue;
                }
                // Common pixels lie in the columns both boxes share.
                long inter = IntersectOnes(a.RunEnds, b.RunEnds, (uint)(x0 * h), (uint)(x1 * h));
                row[g] = inter == 0 ? 0
                    : (double)inter / (iscrowd[g] ? a.Area : (long)a.Area + b.Area - inter);
            }
        }
    }

    /// <summary>What Iou needs of one mask, computed once per call.</summary>
    sealed class IouOperand
    {
        public IouOperand(Rle rle)
        {
            Counts = rle.Counts;
            Area = unchecked((uint)RleOps.Area(rle));
            // Boxes as [x0, x1) x [y0, y1) in whole numbers, exactly as rleToBbox reports them.
            var (x, y, w, h) = BoundingBox(rle);
            (X0, Y0, X1, Y1) = (x, y, (long)x + w, (long)y + h);
            // Without zero-length runs after the first, rleIou's loop counts exactly the common and united
            // pixels, so any exact method gives its numbers; run ends allow one that skips to the shared
            // columns. With such runs the loop may stop early and is replayed as is.
            bool canonical = true;
            for (int j = 1; j < Counts.Length && canonical; j++)
                canonical = Counts[j] != 0;
            if (canonical)
            {
                RunEnds = new uint[Counts.Length];
                uint end = 0;
                for (int j = 0; j < Counts.Length; j++)
                    RunEnds[j] = end += Counts[j];
            }
        }

        public uint[] Counts { get; }
        public uint Area { get; }
        public long X0 { get; }
        public long Y0 { get; }
        public long X1 { get; }
        public long Y1 { get; }

        /// <summary>Position after each run (run j covers [RunEnds[j-1], RunEnds[j])), or null if the RLE has inner zero runs.</summary>
        public uint[]? RunEnds { get; }
    }

    /// <summary>
    /// Number of pixels set in both masks, given their run ends (1-run t covers [ends[2t], ends[2t+1])) and
    /// a window [from, to) holding every common pixel: two pointers over the 1-runs that reach the window.
    /// </summary>
    static long IntersectOnes(uint[] a, uint[] b, uint from, uint to)
    {
        int na = a.Length / 2, nb = b.Length / 2;
        int i = FirstOneRunEndingAfter(a, na, from), j = FirstOneRunEndingAfter(b, nb, from);
        long inter = 0;
        while (i < na && j < nb)
        {
            uint startA = a[2 * i], endA = a[2 * i + 1], startB = b[2 * j], endB = b[2 * j + 1];
            if (startA >= to || startB >= to)
                break;
            uint start = Math.Max(startA, startB), end = Math.Min(endA, endB);
            if (start < end)
                inter += end - start;
            if (endA <= endB)
                i++;
            else
                j++;
        }
        return inter;
    }

    static int FirstOneRunEndingAfter(uint[] ends, int oneRuns, uint position)
    {
        int lo = 0, hi = oneRuns;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (ends[2 * mid + 1] > position)
                hi = mid;
            else
                lo = mid + 1;
        }
        return lo;
    }

    /// <summary>
    /// Intersection and union over the two run lists at once (rleIou's inner loop, including its uint
    /// arithmetic and its stop when both sides run out of counts).
    /// </summary>
    static double RunIou(uint[] dtCounts, uint[] gtCounts, bool crowd, uint dtArea)
    {
        int ka = dtCounts.Length, kb = gtCounts.Length, a = 1, b = 1;
        uint ca = dtCounts[0], cb = gtCounts[0], inter = 0, union = 0, ct = 1;
        bool va = false, vb = false;
        while (ct > 0)
        {
            uint c = Math.Min(ca, cb);
            if (va || vb)
            {
                union += c;
                if (va && vb)
                    inter += c;
            }
            ct = 0;
            ca -= c;
            if (ca == 0 && a < ka)
            {
                ca = dtCounts[a++];
                va = !va;
            }
            ct += ca;
            cb -= c;
            if (cb == 0 && b < kb)
            {
                cb = gtCounts[b++];
                vb = !vb;
            }
            ct += cb;
        }
        if (inter == 0)
            union = 1;
        else if (crowd)
            union = dtArea;
        return (double)inter / union;
    }

    /// <summary>
    /// IoU matrix of boxes [x, y, w, h] as pycocotools' bbIou: <c>result[d * gtCount + g]</c>; for a crowd
    /// ground truth the denominator is the detection box's area.
    /// </summary>
    /// <exception cref="ArgumentException">Box spans not a multiple of 4, iscrowd not one per ground truth, or result too short.</exception>
    public static void BoxIou(ReadOnlySpan<double> dtBoxes, ReadOnlySpan<double> gtBoxes, IReadOnlyList<bool> iscrowd, Span<double> result)
    {
        ArgumentNullException.ThrowIfNull(iscrowd);
        if (dtBoxes.Length % 4 != 0 || gtBoxes.Length % 4 != 0)
            throw new ArgumentException("boxes are given as x, y, w, h: span lengths must be multiples of 4");
        int m = dtBoxes.Length / 4, n = gtBoxes.Length / 4;
        CheckIouShapes(m, n, iscrowd.Count, result.Length);
        for (int d = 0; d < m; d++)
        {
            var db = dtBoxes.Slice(4 * d, 4);
            double da = db[2] * db[3];
            var row = result.Slice(d * n, n);
            for (int g = 0; g < n; g++)
            {
                var gb = gtBoxes.Slice(4 * g, 4);
                row[g] = 0;
                double iw = CMin(db[2] + db[0], gb[2] + gb[0]) - CMax(db[0], gb[0]);
                if (iw <= 0)
                    continue;
                double ih = CMin(db[3] + db[1], gb[3] + gb[1]) - CMax(db[1], gb[1]);
                if (ih <= 0)
                    continue;
                double inter = iw * ih;
                double union = iscrowd[g] ? da : da + gb[2] * gb[3] - inter;
                row[g] = inter / union;
            }
        }
    }

    /// <summary>rleToBbox of cocoapi (the version pycocotools' reference results were made with).</summary>
    internal static (uint X, uint Y, uint W, uint H) BoundingBox(Rle rle)
    {
        uint h = (uint)rle.Height, w = (uint)rle.Width;
        var counts = rle.Counts;
        // Only whole (0-run, 1-run) pairs count: a trailing 0-run is ignored.
        int m = counts.Length & ~1;
        if (m == 0 || h == 0)
            return (0, 0, 0, 0);
        uint xs = w, ys = h, xe = 0, ye = 0, cc = 0, xp = 0;
        unchecked
        {
            for (int j = 0; j < m; j++)
            {
                // Even j: first pixel of a 1-run; odd j: its last pixel.
                cc += counts[j];
                uint t = cc - (uint)(j % 2);
                var (x, y) = Math.DivRem(t, h);
                if (j % 2 == 0)
                    xp = x;
                else if (xp < x)
                {
                    // The run wraps into a later column, so it covers the whole column height somewhere.
                    ys = 0;
                    ye = h - 1;
                }
                xs = Math.Min(xs, x);
                xe = Math.Max(xe, x);
                ys = Math.Min(ys, y);
                ye = Math.Max(ye, y);
            }
            return (xs, ys, xe - xs + 1, ye - ys + 1);
        }
    }

    static void CheckSameSize(IReadOnlyList<Rle> rles, Rle reference)
    {
        for (int i = 0; i < rles.Count; i++)
        {
            if (rles[i].Height != reference.Height || rles[i].Width != reference.Width)
                throw new ArgumentException(
                    $"IoU of masks of different sizes ({rles[i].Height}x{rles[i].Width} and {reference.Height}x{reference.Width})");
        }
    }

    static void CheckIouShapes(int m, int n, int crowdCount, int resultLength)
    {
        if (crowdCount != n)
            throw new ArgumentException($"iscrowd has {crowdCount} entries for {n} ground truths");
        if (resultLength < (long)m * n)
            throw new ArgumentException($"result holds {resultLength} values, {(long)m * n} needed");
    }

    // C's fmin/fmax: a NaN operand yields the other operand (Math.Min/Max would yield NaN).
    static double CMin(double a, double b) => double.IsNaN(a) ? b : b < a ? b : a;

    static double CMax(double a, double b) => double.IsNaN(a) ? b : b > a ? b : a;
}
