namespace PixelBox.Data;

/// <summary>
/// Scanline fill of a polygon given as float vertices: a pixel is inside when its centre (x + 0.5, y + 0.5)
/// is inside by the even-odd rule, with the classic crossing test's half-open edge convention. Plain double
/// arithmetic, so the same polygon gives the same pixels on every machine (no antialiasing library involved).
/// </summary>
internal static class PolygonRaster
{
    /// <summary>Row spans [X0, X1) of the pixels inside the polygon (flat x0,y0,x1,y1,...), clipped to the image.</summary>
    public static List<(int Y, int X0, int X1)> Spans(ReadOnlySpan<double> xy, int width, int height)
    {
        int n = xy.Length / 2;
        double minY = double.MaxValue, maxY = double.MinValue;
        for (int i = 0; i < n; i++)
        {
            minY = Math.Min(minY, xy[2 * i + 1]);
            maxY = Math.Max(maxY, xy[2 * i + 1]);
        }
        var spans = new List<(int, int, int)>();
        var crossings = new List<double>();
        int yStart = Math.Max(0, (int)Math.Floor(minY) - 1), yEnd = Math.Min(height - 1, (int)Math.Ceiling(maxY));
        for (int y = yStart; y <= yEnd; y++)
        {
            double py = y + 0.5;
            crossings.Clear();
            for (int i = 0, j = n - 1; i < n; j = i++)
            {
                double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
                if ((yi > py) != (yj > py))
                    crossings.Add((xj - xi) * (py - yi) / (yj - yi) + xi);
            }
            crossings.Sort();
            for (int k = 0; k + 1 < crossings.Count; k += 2)
            {
                int x0 = Math.Max(0, FirstCentreAtOrAfter(crossings[k]));
                int x1 = Math.Min(width, FirstCentreAtOrAfter(crossings[k + 1]));
                if (x1 > x0) spans.Add((y, x0, x1));
            }
        }
        return spans;
    }

    /// <summary>The smallest integer x with x + 0.5 >= a, compared exactly as the crossing test does.</summary>
    static int FirstCentreAtOrAfter(double a)
    {
        a = Math.Clamp(a, -1e9, 1e9);
        int x = (int)Math.Ceiling(a - 0.5);
        while (x - 1 + 0.5 >= a) x--;
        while (x + 0.5 < a) x++;
        return x;
    }

    /// <summary>Polygon area by the shoelace formula.</summary>
    public static double Area(ReadOnlySpan<double> xy)
    {
        int n = xy.Length / 2;
        double twice = 0;
        for (int i = 0, j = n - 1; i < n; j = i++)
            twice += xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
        return Math.Abs(twice) / 2;
    }
}
