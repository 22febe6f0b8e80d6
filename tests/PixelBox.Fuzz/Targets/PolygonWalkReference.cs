using PixelBox.Masks;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// The oracle for polygon rasterisation: the dense walk of pycocotools' rleFrPoly, point by point, as the
/// library did before it learnt to skip the points that cannot give a boundary (that version matched
/// maskApi.c on every fixture polygon). Only for inputs whose walk is short.
/// </summary>
static class PolygonWalkReference
{
    const double Scale = 5;
    const double MaxCoordinate = 1e8;

    /// <summary>Points the dense walk visits: sum over the edges of max(|dx|, |dy|) + 1 on the 5x grid.</summary>
    public static long WalkLength(ReadOnlySpan<double> xy)
    {
        int k = xy.Length / 2;
        long total = 0;
        for (int j = 0; j < k; j++)
        {
            int n = (j + 1) % k;
            long dx = Math.Abs((long)Upsample(xy[2 * n]) - Upsample(xy[2 * j])), dy = Math.Abs((long)Upsample(xy[2 * n + 1]) - Upsample(xy[2 * j + 1]));
            total += Math.Max(dx, dy) + 1;
        }
        return total;
    }

    /// <param name="xy">x0, y0, x1, y1, ...; an odd trailing value is ignored, as pycocotools does.</param>
    public static uint[] Rasterize(ReadOnlySpan<double> xy, int height, int width)
    {
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

        // The C code stores every point of the dense boundary walk, then scans consecutive pairs; the scan
        // needs only the previous point, so the walk is streamed.
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
            if (dx >= dy)
            {
                for (int d = 0; d <= dx; d++)
                {
                    int t = flip ? dx - d : d;
                    walk.Add(t + xs, (int)(ys + s * t + .5));
                }
            }
            else
            {
                for (int d = 0; d <= dy; d++)
                {
                    int t = flip ? dy - d : d;
                    walk.Add((int)(xs + s * t + .5), t + ys);
                }
            }
        }
        return walk.ToCounts();
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
