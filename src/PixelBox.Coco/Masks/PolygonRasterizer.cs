namespace PixelBox.Masks;

/// <summary>
/// pycocotools' rleFrPoly: rasterises one polygon by walking its edges on a 5x finer integer grid, keeping
/// the points where the walk crosses a pixel column centre, and turning those y-boundaries into runs.
/// Every rounding step (int truncation of scale*v+0.5, of ys+s*t+0.5, the ceil of the boundary row) is
/// reproduced as the C code does it, because a different rounding moves boundaries by a pixel.
/// </summary>
static class PolygonRasterizer
{
    const double Scale = 5;

    // Beyond this the upsampled coordinates or their differences would not fit an int (undefined in C).
    const double MaxCoordinate = 1e8;

    /// <summary>
    /// At most this many pixel-column crossings (boundary points) per polygon or box: a bound on time and
    /// memory whatever the coordinates and vertex count (a real polygon crosses each column a few times).
    /// </summary>
    public const long MaxColumnCrossings = 1 << 22;

    /// <param name="xy">x0, y0, x1, y1, ...; an odd trailing value is ignored, as pycocotools does.</param>
    /// <exception cref="ArgumentException">No point, a coordinate that is not finite or beyond +-1e8, a mask of
    /// more than 2^32-1 pixels, or edges that cross more than <see cref="MaxColumnCrossings"/> pixel columns.</exception>
    public static Rle Rasterize(ReadOnlySpan<double> xy, int height, int width) => Rasterize(xy, height, width, DenseWalkLimit);

    /// <summary>
    /// Polygons whose dense walk is at most this many points are walked point by point, as the C code does
    /// (the fastest way for real polygons); longer walks skip the points that cannot give a boundary.
    /// </summary>
    const long DenseWalkLimit = 1 << 24;

    /// <param name="denseWalkLimit">Longest walk taken point by point (tests force the skipping walk with 0).</param>
    internal static Rle Rasterize(ReadOnlySpan<double> xy, int height, int width, long denseWalkLimit)
    {
        Rle.CheckSize(height, width);
        int k = xy.Length / 2;
        if (k == 0)
            throw new ArgumentException("a polygon needs at least one x,y point", nameof(xy));
        var x = new int[k + 1];
        var y = new int[k + 1];
        for (int j = 0; j < k; j++)
        {
            x[j] = Upsample(xy[2 * j]);
            y[j] = Upsample(xy[2 * j + 1]);
        }
        x[k] = x[0];
        y[k] = y[0];
        long crossings = 0, walkLength = 0;
        for (int j = 0; j < k; j++)
        {
            crossings += ColumnsBetween(Math.Min(x[j], x[j + 1]), Math.Max(x[j], x[j + 1]), width);
            walkLength += Math.Max(Math.Abs((long)x[j + 1] - x[j]), Math.Abs((long)y[j + 1] - y[j])) + 1;
        }
        if (crossings > MaxColumnCrossings)
            throw new ArgumentException($"the polygon's edges cross {crossings} pixel columns, more than the {MaxColumnCrossings} supported");
        bool dense = walkLength <= denseWalkLimit;

        // The C code stores every point of the dense boundary walk, then scans consecutive pairs; the scan
        // needs only the previous point, so the walk is streamed; a long walk skips the points that cannot
        // give a boundary (see EdgeWalk), so time follows the columns crossed rather than the coordinates.
        var walk = new BoundaryCollector(height, width);
        for (int j = 0; j < k; j++)
        {
            int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
            int dx = Math.Abs(xe - xs), dy = Math.Abs(ys - ye);
            bool flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            if (dx == 0 && dy == 0)
            {
                // C computes s = 0/0 and converts ys + NaN to int, which x86-64 makes INT_MIN. The point
                // repeats the previous one's column, so this value is never read; kept for fidelity.
                walk.Add(xs, int.MinValue);
                continue;
            }
            double s = dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
            var edge = new EdgeWalk(xs, ys, s, Math.Max(dx, dy), flip, xMajor: dx >= dy);
            if (dense)
                edge.EmitAll(walk, 0, Math.Max(dx, dy) + 1);
            else
                edge.Emit(walk, width);
        }
        return new Rle(height, width, walk.ToCounts());
    }

    /// <summary>
    /// How many pixel columns k (0..width-1) have their centre on the fine grid (5k+2) in [lo-1, hi]: an upper
    /// bound of the boundary points an edge between upsampled x <paramref name="lo"/> and <paramref name="hi"/> gives.
    /// </summary>
    static long ColumnsBetween(long lo, long hi, int width)
    {
        long first = Math.Max(0, FloorDiv(lo - 3 + 4, 5)), last = Math.Min(width - 1L, FloorDiv(hi - 2, 5));
        return Math.Max(0, last - first + 1);
    }

    static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>
    /// One edge of rleFrPoly's walk: point d (0..n) is (t + xs, (int)(ys + s*t + .5)) for an x-major edge, else
    /// ((int)(xs + s*t + .5), t + ys), with t = d, or n - d when the edge was flipped; exactly the C loop's values.
    /// </summary>
    readonly struct EdgeWalk(int xs, int ys, double s, int n, bool flip, bool xMajor)
    {
        int U(int d)
        {
            int t = flip ? n - d : d;
            return xMajor ? t + xs : (int)(xs + s * t + .5);
        }

        int V(int d)
        {
            int t = flip ? n - d : d;
            return xMajor ? (int)(ys + s * t + .5) : t + ys;
        }

        void Add(BoundaryCollector walk, int d) => walk.Add(U(d), V(d));

        /// <summary>
        /// Feeds the walk's points to <paramref name="walk"/>, leaving out those that cannot matter. A point
        /// gives a boundary only where its column changes, at fine column u or u - 1, and only if that is a pixel
        /// column's centre 5k+2 (k in 0..width-1): never for u outside [1, 5*width - 1]. u is monotone in d (a
        /// rounded product and sum of a monotone t), so the points with u in that window are one range of d,
        /// found by bisection; before it only its previous point is fed (as the "previous point" of the first),
        /// and in a y-major edge, where u changes at most once per step and usually stays, only the points on
        /// both sides of each change. The result is the walk of every point, with time bounded by the columns.
        /// </summary>
        public void Emit(BoundaryCollector walk, int width)
        {
            long lo = 1, hi = 5L * width - 1;
            int u0 = U(0), un = U(n);
            bool increasing = un >= u0;
            // the window [first, end): u in [lo, hi] (the whole edge, without a search, in the usual case)
            int first = u0 >= lo && u0 <= hi ? 0 : FirstReaching(0, increasing ? lo : hi, increasing);
            int end = un >= lo && un <= hi ? n + 1 : FirstReaching(first, increasing ? hi + 1 : lo - 1, increasing);
            if (first > 0)
                Add(walk, first - 1);
            bool lastAdded = false;
            if (first < end)
            {
                // a y-major edge whose u changes rarely (far longer than the columns it crosses) jumps from change
                // to change; every other edge is walked point by point, as the C code does
                long changes = Math.Abs((long)U(end - 1) - U(first));
                if (xMajor || end - first <= 8 * (changes + 1))
                {
                    EmitAll(walk, first, end);
                    lastAdded = end == n + 1;
                }
                else
                    EmitChanges(walk, first, end, increasing);
            }
            // the edge's last point is the next edge's "previous point"
            if (!lastAdded)
                Add(walk, n);
        }

        /// <summary>Every point of [first, end), as the C loop computes them (the hot loop of rasterisation).</summary>
        public void EmitAll(BoundaryCollector walk, int first, int end)
        {
            if (xMajor)
            {
                for (int d = first; d < end; d++)
                {
                    int t = flip ? n - d : d;
                    walk.Add(t + xs, (int)(ys + s * t + .5));
                }
            }
            else
            {
                for (int d = first; d < end; d++)
                {
                    int t = flip ? n - d : d;
                    walk.Add((int)(xs + s * t + .5), t + ys);
                }
            }
        }

        /// <summary>The points of [first, end) on both sides of each change of u, from the first point on.</summary>
        void EmitChanges(BoundaryCollector walk, int first, int end, bool increasing)
        {
            int d = first;
            Add(walk, d);
            while (true)
            {
                int u = U(d);
                int next = FirstReaching(d + 1, increasing ? u + 1L : u - 1L, increasing, end);
                if (next >= end)
                    break;
                if (next - 1 > d)
                    Add(walk, next - 1);
                Add(walk, next);
                d = next;
            }
        }

        bool Reached(int d, long bound, bool increasing) => increasing ? U(d) >= bound : U(d) <= bound;

        /// <summary>
        /// The first d in [from, to) (to defaults to n + 1) whose u has reached <paramref name="bound"/> (u &gt;= bound
        /// when u increases with d, u &lt;= bound when it decreases), else to: a gallop from <paramref name="from"/>
        /// (the next change is usually a step or two away), then bisection.
        /// </summary>
        int FirstReaching(int from, long bound, bool increasing, int to = -1)
        {
            if (to < 0)
                to = n + 1;
            long step = 1;
            int lo = from;
            while (true)
            {
                if (lo >= to)
                    return to;
                if (Reached(lo, bound, increasing))
                    return lo;
                int probe = (int)Math.Min(to, lo + step);
                if (probe >= to || Reached(probe, bound, increasing))
                {
                    // answer in (lo, probe]
                    int a = lo + 1, b = probe;
                    while (a < b)
                    {
                        int mid = (int)(((long)a + b) >>> 1);
                        if (mid < to && Reached(mid, bound, increasing))
                            b = mid;
                        else
                            a = mid + 1;
                    }
                    return Math.Min(a, to);
                }
                lo = probe + 1;
                step *= 2;
            }
        }
    }

    /// <summary>
    /// The polygon [x0,y0, x0,y1, x1,y1, x1,y0] (rleFrBbox) without the walk, or null when it is not the
    /// common case (upsampled corners non-negative, non-empty in both directions). Walking that polygon,
    /// the vertical edges stay in one column and the horizontal ones cross columns 5k+2 of the fine grid
    /// at rows Y0 (top, going left) and Y1 (bottom, going right), so the boundaries are two per pixel
    /// column k with X0 &lt;= 5k+2 &lt; X1, at exactly the rows the walk computes.
    /// </summary>
    public static Rle? RasterizeBox(double x0, double y0, double x1, double y1, int height, int width)
    {
        Rle.CheckSize(height, width);
        int ux0 = Upsample(x0), uy0 = Upsample(y0), ux1 = Upsample(x1), uy1 = Upsample(y1);
        if (ux0 < 0 || uy0 < 0 || ux1 <= ux0 || uy1 <= uy0)
            return null;
        int firstColumn = ux0 <= 2 ? 0 : (ux0 - 2 + 4) / 5;
        int lastColumn = Math.Min(width - 1, ux1 >= 3 ? (ux1 - 3) / 5 : -1);
        int top = BoundaryRow(uy0, height), bottom = BoundaryRow(uy1, height);
        int columns = Math.Max(0, lastColumn - firstColumn + 1);
        if (2L * columns > MaxColumnCrossings)
            throw new ArgumentException($"the box crosses {columns} pixel columns, more than the {MaxColumnCrossings / 2} supported");
        var starts = new uint[2 * columns + 1];
        for (int c = 0; c < columns; c++)
        {
            int column = firstColumn + c;
            starts[2 * c] = unchecked((uint)(column * height + top));
            starts[2 * c + 1] = unchecked((uint)(column * height + bottom));
        }
        starts[^1] = unchecked((uint)height * (uint)width);
        return new Rle(height, width, BoundaryCollector.ToCounts(starts));
    }

    /// <summary>The row of a boundary at upsampled y <paramref name="v"/>, as AddColumnCrossing computes it.</summary>
    static int BoundaryRow(int v, int height)
    {
        double yd = v;
        yd = (yd + .5) / Scale - .5;
        if (yd < 0)
            yd = 0;
        else if (yd > height)
            yd = height;
        return (int)Math.Ceiling(yd);
    }

    static int Upsample(double v)
    {
        if (!double.IsFinite(v) || Math.Abs(v) > MaxCoordinate)
            throw new ArgumentException($"polygon coordinate {v} is not a finite number within +-{MaxCoordinate}");
        return (int)(Scale * v + .5);
    }

    /// <summary>Turns the boundary walk into y-boundary points at pixel columns, then into runs.</summary>
    sealed class BoundaryCollector(int height, int width)
    {
        readonly List<uint> starts = [];
        bool hasPrevious;
        int previousU, previousV;

        public void Add(int u, int v)
        {
            if (hasPrevious && u != previousU)
                AddColumnCrossing(u, v);
            hasPrevious = true;
            previousU = u;
            previousV = v;
        }

        void AddColumnCrossing(int u, int v)
        {
            double xd = u < previousU ? u : u - 1;
            xd = (xd + .5) / Scale - .5;
            // width - 1 is -1 for an empty image, which rejects every column (C's unsigned w-1 would not).
            if (Math.Floor(xd) != xd || xd < 0 || xd > width - 1)
                return;
            double yd = v < previousV ? v : previousV;
            yd = (yd + .5) / Scale - .5;
            if (yd < 0)
                yd = 0;
            else if (yd > height)
                yd = height;
            yd = Math.Ceiling(yd);
            starts.Add(unchecked((uint)((int)xd * height + (int)yd)));
        }

        public uint[] ToCounts()
        {
            starts.Add(unchecked((uint)height * (uint)width));
            return ToCounts(starts.ToArray());
        }

        /// <summary>Boundary positions (the last one height*width) to run lengths; sorts <paramref name="a"/> in place.</summary>
        public static uint[] ToCounts(uint[] a)
        {
            a.AsSpan().Sort();
            uint p = 0;
            for (int j = 0; j < a.Length; j++)
            {
                uint t = a[j];
                a[j] -= p;
                p = t;
            }
            // Two boundaries at one position cancel: a zero-length run joins its neighbours.
            int m = 1, i = 1;
            while (i < a.Length)
            {
                if (a[i] > 0)
                {
                    a[m++] = a[i++];
                }
                else
                {
                    i++;
                    if (i < a.Length)
                        a[m - 1] += a[i++];
                }
            }
            return a[..m];
        }
    }
}
