namespace PixelBox.Coco;

/// <summary>
/// COCO detection evaluation, bit-for-bit as pycocotools' COCOeval, in three steps usable alone:
/// <see cref="Evaluate"/> (per image x category x area matching), <see cref="CocoEvaluation.Accumulate"/>
/// (precision[T,R,K,A,M], recall[T,K,A,M]) and <see cref="CocoAccumulation.Summarize"/> (the 12 stats).
/// Pure: plain arrays in, plain arrays out; categories are evaluated in parallel.
/// </summary>
public sealed partial class CocoEvaluator
{
    readonly CocoGroundTruth _gt;
    readonly CocoDetections _dt;
    readonly Dictionary<long, int> _imageIndex;
    readonly Dictionary<long, int> _categoryIndex;
    // Ground truth and detections of the evaluated images/categories, ordered by (group, image) and
    // file order within a cell; a group is one category (or every category when UseCategories is off).
    readonly Grouping _gtGroups, _dtGroups;
    // the lowest IoU a match needs at any threshold: a detection whose best IoU is under it matches nothing
    readonly double _lowestStart;

    public CocoParams Params { get; }

    /// <summary>Evaluated image ids, sorted (pycocotools: np.unique(imgIds)).</summary>
    public long[] ImageIds { get; }

    /// <summary>Evaluated category ids, sorted; the K axis of the results when UseCategories is on.</summary>
    public long[] CategoryIds { get; }

    /// <summary>Size of the K axis: the categories, or 1 when categories are pooled.</summary>
    public int GroupCount => Params.UseCategories ? CategoryIds.Length : 1;

    public CocoEvaluator(CocoGroundTruth groundTruth, CocoDetections detections, CocoParams? parameters = null)
    {
        _gt = groundTruth;
        _dt = detections;
        Params = (parameters ?? new CocoParams()).Normalized();
        ImageIds = SortedUnique(Params.ImageIds ?? Array.ConvertAll(groundTruth.Images, i => i.Id));
        CategoryIds = SortedUnique(Params.CategoryIds ?? Array.ConvertAll(groundTruth.Categories, c => c.Id));
        _imageIndex = IndexOf(ImageIds);
        _categoryIndex = IndexOf(CategoryIds);
        // the two groupings are independent: the ground truth's on another core
        var gtGroups = Task.Run(() => Group(groundTruth.ImageId, groundTruth.CategoryId));
        _dtGroups = Group(detections.ImageId, detections.CategoryId);
        _gtGroups = gtGroups.Result;
        _lowestStart = double.PositiveInfinity;
        foreach (var t in Params.IouThresholds)
            _lowestStart = Math.Min(_lowestStart, Math.Min(t, 1 - 1e-10));
        if (Params.IouType == CocoIouType.Segm)
            PrepareMasks();
    }

    static long[] SortedUnique(long[] ids)
    {
        var a = (long[])ids.Clone();
        Array.Sort(a);
        int n = 0;
        for (int i = 0; i < a.Length; i++)
            if (i == 0 || a[i] != a[n - 1])
                a[n++] = a[i];
        return n == a.Length ? a : a[..n];
    }

    static Dictionary<long, int> IndexOf(long[] ids)
    {
        var d = new Dictionary<long, int>(ids.Length);
        for (int i = 0; i < ids.Length; i++)
            d[ids[i]] = i;
        return d;
    }

    /// <summary>Entries sorted by (group, image index), stable; GroupStart has GroupCount + 1 bounds.</summary>
    sealed class Grouping
    {
        public required int[] Order;
        public required int[] Image;
        public required int[] GroupStart;
    }

    Grouping Group(long[] imageIds, long[] categoryIds)
    {
        int n = imageIds.Length, images = ImageIds.Length, cats = CategoryIds.Length;
        var img = new int[n];
        var cat = new int[n];
        int kept = 0;
        // Results usually come image by image: reuse the last lookup while the image id repeats.
        long lastImage = 0;
        int lastIndex = -1;
        for (int i = 0; i < n; i++)
        {
            int ii;
            if (i > 0 && imageIds[i] == lastImage)
                ii = lastIndex;
            else if (!_imageIndex.TryGetValue(imageIds[i], out ii))
                ii = -1;
            (lastImage, lastIndex) = (imageIds[i], ii);
            if (ii >= 0 && _categoryIndex.TryGetValue(categoryIds[i], out var kk))
            {
                img[i] = ii;
                cat[i] = kk;
                kept++;
            }
            else
                img[i] = -1;
        }
        var ids = new int[kept];
        for (int i = 0, j = 0; i < n; i++)
            if (img[i] >= 0)
                ids[j++] = i;
        // LSD radix sort (two stable counting passes). Pooled categories keep pycocotools' order
        // within an image: by category, then file order.
        bool byCategory = Params.UseCategories;
        var minor = byCategory ? img : cat;
        var major = byCategory ? cat : img;
        var pass1 = CountingSort(ids, minor, byCategory ? images : cats);
        var order = CountingSort(pass1, major, byCategory ? cats : images);
        var image = new int[kept];
        for (int j = 0; j < kept; j++)
            image[j] = img[order[j]];
        int groups = GroupCount;
        var start = new int[groups + 1];
        if (byCategory)
        {
            foreach (var i in order)
                start[cat[i] + 1]++;
            for (int g = 0; g < groups; g++)
                start[g + 1] += start[g];
        }
        else
            start[1] = kept;
        return new Grouping { Order = order, Image = image, GroupStart = start };
    }

    static int[] CountingSort(int[] items, int[] key, int buckets)
    {
        var count = new int[buckets + 1];
        foreach (var i in items)
            count[key[i] + 1]++;
        for (int b = 0; b < buckets; b++)
            count[b + 1] += count[b];
        var result = new int[items.Length];
        foreach (var i in items)
            result[count[key[i]]++] = i;
        return result;
    }

    // ------------------------------------------------------------------------ evaluate
    /// <summary>Matches detections to ground truth for every image, category and area range.</summary>
    public CocoEvaluation Evaluate()
    {
        int A = Params.AreaRanges.Length;
        var groups = new GroupResult[GroupCount];
        for (int g = 0; g < groups.Length; g++)
            groups[g] = new GroupResult(_dtGroups.GroupStart[g + 1] - _dtGroups.GroupStart[g], A);
        var pieces = Pieces();
        WorkSharing.For(pieces.Count, () => new Workspace(A), (p, ws) =>
        {
            var piece = pieces[p];
            var result = groups[piece.Group];
            var numGt = ws.NumGt;
            Array.Clear(numGt);
            int end = EvaluatePiece(piece, ws, result, numGt);
            for (int a = 0; a < A; a++)
                Interlocked.Add(ref result.NumGt[a], numGt[a]);
            if (piece.LastOfGroup)
                result.Count = end;
        });
        return new CocoEvaluation(Params, Params.UseCategories ? CategoryIds : [-1], ImageIds.Length, groups);
    }

    /// <summary>
    /// A run of whole cells (images) of one group: ground truth [GtStart, GtEnd), detections [DtStart,
    /// DtEnd) of the grouping, results written from OutStart (the kept detections of the cells before).
    /// </summary>
    readonly record struct Piece(int Group, int GtStart, int GtEnd, int DtStart, int DtEnd, int OutStart, bool LastOfGroup);

    /// <summary>
    /// Splits the work into pieces of roughly equal size on image boundaries, so that one big category
    /// does not leave the other cores idle; every piece writes its own slots of its group's result, in the
    /// same order as one pass over the group would.
    /// </summary>
    List<Piece> Pieces()
    {
        int groups = GroupCount, maxDets = Params.MaxDetections[^1];
        long total = _gtGroups.Order.Length + (long)_dtGroups.Order.Length;
        long target = Math.Max(4096, total / (8 * Environment.ProcessorCount));
        // the pieces of split (big) groups first, so the last pieces to finish are small ones
        var pieces = new List<Piece>();
        var whole = new List<Piece>();
        for (int g = 0; g < groups; g++)
        {
            int gLo = _gtGroups.GroupStart[g], gHi = _gtGroups.GroupStart[g + 1];
            int dLo = _dtGroups.GroupStart[g], dHi = _dtGroups.GroupStart[g + 1];
            if (gHi - gLo + dHi - dLo <= target)
            {
                whole.Add(new Piece(g, gLo, gHi, dLo, dHi, 0, LastOfGroup: true));
                continue;
            }
            int gp = gLo, dp = dLo, kept = 0;
            int pieceGt = gLo, pieceDt = dLo, pieceOut = 0;
            while (gp < gHi || dp < dHi)
            {
                int image = Math.Min(gp < gHi ? _gtGroups.Image[gp] : int.MaxValue, dp < dHi ? _dtGroups.Image[dp] : int.MaxValue);
                int dStart = dp;
                while (gp < gHi && _gtGroups.Image[gp] == image) gp++;
                while (dp < dHi && _dtGroups.Image[dp] == image) dp++;
                kept += Math.Min(dp - dStart, maxDets);
                if (gp - pieceGt + dp - pieceDt >= target && (gp < gHi || dp < dHi))
                {
                    pieces.Add(new Piece(g, pieceGt, gp, pieceDt, dp, pieceOut, LastOfGroup: false));
                    (pieceGt, pieceDt, pieceOut) = (gp, dp, kept);
                }
            }
            pieces.Add(new Piece(g, pieceGt, gHi, pieceDt, dHi, pieceOut, LastOfGroup: true));
        }
        pieces.AddRange(whole);
        return pieces;
    }

    /// <summary>Per-thread scratch buffers, grown on demand so inner loops never allocate.</summary>
    sealed class Workspace(int areaRanges)
    {
        public int[] Dets = new int[128];
        public double[] Iou = new double[1024];
        public double[] BestIou = new double[128];
        public int[] Candidates = new int[128];
        public int[] Perm = new int[64];
        public bool[] IgnoreSorted = new bool[64];
        public bool[] CrowdSorted = new bool[64];
        public int[] DtMatch = new int[1024];
        public int[] GtMatch = new int[1024];
        public ulong[] SortKeys = new ulong[128];
        public readonly int[] NumGt = new int[areaRanges];

        public static void Ensure<T>(ref T[] a, int n)
        {
            if (a.Length < n)
                a = new T[Math.Max(n, a.Length * 2)];
        }
    }

    /// <summary>Evaluates a piece's cells; returns the result index after its last detection.</summary>
    int EvaluatePiece(Piece piece, Workspace ws, GroupResult result, int[] numGt)
    {
        int gp = piece.GtStart, dp = piece.DtStart, gHi = piece.GtEnd, dHi = piece.DtEnd;
        int at = piece.OutStart;
        while (gp < gHi || dp < dHi)
        {
            int image = Math.Min(gp < gHi ? _gtGroups.Image[gp] : int.MaxValue, dp < dHi ? _dtGroups.Image[dp] : int.MaxValue);
            int gEnd = gp, dEnd = dp;
            while (gEnd < gHi && _gtGroups.Image[gEnd] == image) gEnd++;
            while (dEnd < dHi && _dtGroups.Image[dEnd] == image) dEnd++;
            at = EvaluateCell(_gtGroups.Order.AsSpan(gp, gEnd - gp), _dtGroups.Order.AsSpan(dp, dEnd - dp), ws, result, at, numGt);
            gp = gEnd;
            dp = dEnd;
        }
        return at;
    }

    /// <summary>Sorts a cell's detections by score, highest first, stable; keeps the top maxDets.</summary>
    int SortDetections(ReadOnlySpan<int> dts, Workspace ws)
    {
        int n = dts.Length;
        Workspace.Ensure(ref ws.Dets, n);
        var sorted = ws.Dets;
        var score = _dt.Score;
        if (n <= 32)
        {
            // insertion sort: stable, and fastest for the few detections of a typical cell
            for (int i = 0; i < n; i++)
            {
                int d = dts[i];
                double s = score[d];
                int j = i - 1;
                while (j >= 0 && score[sorted[j]] < s)
                {
                    sorted[j + 1] = sorted[j];
                    j--;
                }
                sorted[j + 1] = d;
            }
        }
        else
        {
            dts.CopyTo(sorted);
            Workspace.Ensure(ref ws.SortKeys, n);
            StableSort.ByScoreDescending(score, sorted.AsSpan(0, n), ws.SortKeys);
        }
        return Math.Min(n, Params.MaxDetections[^1]);
    }

    /// <summary>Evaluates one image x group cell, writing its kept detections from <paramref name="at"/>; returns the index after them.</summary>
    int EvaluateCell(ReadOnlySpan<int> gts, ReadOnlySpan<int> dts, Workspace ws, GroupResult result, int at, int[] numGt)
    {
        int G = gts.Length;
        int D = SortDetections(dts, ws);
        var sorted = ws.Dets.AsSpan(0, D);
        var thresholds = Params.IouThresholds;
        int T = thresholds.Length;
        var areas = Params.AreaRanges;
        bool matching = G > 0 && D > 0;
        double lowestStart = _lowestStart;
        int candidates = 0;
        if (matching)
        {
            Workspace.Ensure(ref ws.Iou, D * G);
            Workspace.Ensure(ref ws.BestIou, D);
            Workspace.Ensure(ref ws.Candidates, D);
            ComputeIou(gts, sorted, ws.Iou.AsSpan(0, D * G), ws.BestIou.AsSpan(0, D));
            for (int d = 0; d < D; d++)
                if (ws.BestIou[d] >= lowestStart)
                    ws.Candidates[candidates++] = d;
            Workspace.Ensure(ref ws.DtMatch, T * D);
            Workspace.Ensure(ref ws.GtMatch, T * G);
        }
        Workspace.Ensure(ref ws.Perm, G);
        Workspace.Ensure(ref ws.IgnoreSorted, G);
        Workspace.Ensure(ref ws.CrowdSorted, G);
        result.Set(at, sorted, _dt.Score);
        uint all = T == 32 ? uint.MaxValue : (1u << T) - 1;
        for (int a = 0; a < areas.Length; a++)
        {
            double lo = areas[a].Min, hi = areas[a].Max;
            int kept = SortGroundTruth(gts, lo, hi, ws);
            numGt[a] += kept;
            if (D == 0)
                continue;
            if (!matching)
            {
                for (int d = 0; d < D; d++)
                {
                    double area = _dt.Area[sorted[d]];
                    result.SetBits(a, at + d, 0, area < lo || area > hi ? 0u : all);
                }
                continue;
            }
            var dtMatch = ws.DtMatch.AsSpan(0, T * D);
            var bestIou = ws.BestIou.AsSpan(0, D);
            Match(ws.Iou.AsSpan(0, D * G), bestIou, ws.Candidates.AsSpan(0, candidates), D, G, ws.Perm.AsSpan(0, G),
                ws.IgnoreSorted.AsSpan(0, G), ws.CrowdSorted.AsSpan(0, G), thresholds, dtMatch, ws.GtMatch.AsSpan(0, T * G));
            for (int d = 0; d < D; d++)
            {
                double area = _dt.Area[sorted[d]];
                bool outside = area < lo || area > hi;
                if (bestIou[d] < lowestStart)
                {
                    // unmatched at every threshold: a false positive unless outside the area range
                    result.SetBits(a, at + d, 0, outside ? 0u : all);
                    continue;
                }
                uint tpBits = 0, fpBits = 0;
                for (int t = 0; t < T; t++)
                {
                    int m = dtMatch[t * D + d];
                    // pycocotools stores the matched GT id and tests it for truth: a GT with id 0 counts as no match
                    bool matched = m >= 0 && _gt.AnnotationId[gts[ws.Perm[m]]] != 0;
                    bool ignored = (m >= 0 && ws.IgnoreSorted[m]) || (!matched && outside);
                    if (ignored)
                        continue;
                    if (matched) tpBits |= 1u << t;
                    else fpBits |= 1u << t;
                }
                result.SetBits(a, at + d, tpBits, fpBits);
            }
        }
        return at + D;
    }

    /// <summary>
    /// Orders the cell's ground truth with non-ignored first (stable, as np.argsort(kind='mergesort') on
    /// the ignore flags) into ws.Perm; fills the ignore and crowd flags in that order. Returns the count
    /// of non-ignored ground truth. Ignored = crowd, or area outside [lo, hi].
    /// </summary>
    int SortGroundTruth(ReadOnlySpan<int> gts, double lo, double hi, Workspace ws)
    {
        int G = gts.Length, kept = 0;
        for (int g = 0; g < G; g++)
        {
            int i = gts[g];
            double area = _gt.Area[i];
            if (!(_gt.IsCrowd[i] || area < lo || area > hi))
                ws.Perm[kept++] = g;
        }
        int next = kept;
        for (int g = 0; g < G; g++)
        {
            int i = gts[g];
            double area = _gt.Area[i];
            if (_gt.IsCrowd[i] || area < lo || area > hi)
                ws.Perm[next++] = g;
        }
        for (int s = 0; s < G; s++)
        {
            ws.IgnoreSorted[s] = s >= kept;
            ws.CrowdSorted[s] = _gt.IsCrowd[gts[ws.Perm[s]]];
        }
        return kept;
    }

    /// <summary>
    /// pycocotools' greedy matching. For each threshold and each detection (best score first), the best
    /// GT so far starts at min(t, 1 - 1e-10); a GT already taken is skipped unless crowd; once a regular
    /// GT is matched, reaching the ignored GT (sorted last) stops the search; a GT with IoU >= the best so
    /// far replaces it (so of equal IoUs the later GT wins). dtMatch gets the sorted GT position or -1,
    /// gtMatch the detection index or -1. Only the <paramref name="candidates"/> (ascending detection
    /// indices) are matched and get dtMatch entries: a detection whose best IoU (<paramref name="bestIou"/>,
    /// +inf when a NaN is among them) is below every starting bar can take no GT, so leaving it out
    /// changes nothing for the others; a candidate's row is likewise not searched at a threshold whose
    /// bar is above its best IoU.
    /// </summary>
    internal static void Match(ReadOnlySpan<double> iou, ReadOnlySpan<double> bestIou, ReadOnlySpan<int> candidates,
        int D, int G, ReadOnlySpan<int> perm,
        ReadOnlySpan<bool> ignoreSorted, ReadOnlySpan<bool> crowdSorted, double[] thresholds,
        Span<int> dtMatch, Span<int> gtMatch)
    {
        gtMatch.Fill(-1);
        for (int t = 0; t < thresholds.Length; t++)
        {
            double start = Math.Min(thresholds[t], 1 - 1e-10);
            var taken = gtMatch.Slice(t * G, G);
            foreach (int d in candidates)
            {
                if (bestIou[d] < start)
                {
                    dtMatch[t * D + d] = -1;
                    continue;
                }
                var row = iou.Slice(d * G, G);
                double best = start;
                int m = -1;
                for (int s = 0; s < G; s++)
                {
                    if (taken[s] >= 0 && !crowdSorted[s])
                        continue;
                    if (m > -1 && !ignoreSorted[m] && ignoreSorted[s])
                        break;
                    double v = row[perm[s]];
                    if (v < best)
                        continue;
                    best = v;
                    m = s;
                }
                dtMatch[t * D + d] = m;
                if (m >= 0)
                    taken[m] = d;
            }
        }
    }

    /// <summary>
    /// IoU of the sorted detections (rows) with the cell's ground truth in file order (columns), and each
    /// row's maximum (+inf if the row has a NaN, which pycocotools' comparisons would let match).
    /// </summary>
    void ComputeIou(ReadOnlySpan<int> gts, ReadOnlySpan<int> dets, Span<double> iou, Span<double> bestIou)
    {
        int G = gts.Length;
        if (Params.IouType == CocoIouType.Segm)
            ComputeMaskIou(gts, dets, iou);
        else
        {
            var gb = _gt.Box;
            var db = _dt.Box;
            for (int d = 0; d < dets.Length; d++)
            {
                int di = 4 * dets[d];
                double dx = db[di], dy = db[di + 1], dw = db[di + 2], dh = db[di + 3];
                double da = dw * dh;
                var row = iou.Slice(d * G, G);
                for (int g = 0; g < G; g++)
                {
                    int gi = 4 * gts[g];
                    row[g] = BoxIou(dx, dy, dw, dh, da, gb[gi], gb[gi + 1], gb[gi + 2], gb[gi + 3], _gt.IsCrowd[gts[g]]);
                }
            }
        }
        for (int d = 0; d < dets.Length; d++)
        {
            double best = double.NegativeInfinity;
            foreach (var v in iou.Slice(d * G, G))
            {
                if (double.IsNaN(v))
                {
                    best = double.PositiveInfinity;
                    break;
                }
                best = Math.Max(best, v);
            }
            bestIou[d] = best;
        }
    }

    /// <summary>maskApi.c bbIou, same operations in the same order: crowd IoU = intersection / detection area.</summary>
    internal static double BoxIou(double dx, double dy, double dw, double dh, double da,
        double gx, double gy, double gw, double gh, bool crowd)
    {
        double w = Math.Min(dw + dx, gw + gx) - Math.Max(dx, gx);
        if (w <= 0)
            return 0;
        double h = Math.Min(dh + dy, gh + gy) - Math.Max(dy, gy);
        if (h <= 0)
            return 0;
        double i = w * h;
        double u = crowd ? da : da + gw * gh - i;
        return i / u;
    }
}
