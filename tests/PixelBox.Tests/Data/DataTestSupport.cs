namespace PixelBox.Tests.Data;

/// <summary>A temp folder deleted with the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Path = Directory.CreateTempSubdirectory("pbx-data-").FullName;

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Independent references for the tests: the textbook even-odd crossing test at pixel centres.</summary>
public static class Reference
{
    public static bool Inside(double[] xy, double px, double py)
    {
        bool inside = false;
        int n = xy.Length / 2;
        for (int i = 0, j = n - 1; i < n; j = i++)
        {
            double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
            if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi)
                inside = !inside;
        }
        return inside;
    }

    /// <summary>Owner map: for each pixel the 1-based index of the last polygon containing its centre, else 0.</summary>
    public static int[] Owners(IReadOnlyList<double[]> polygons, int width, int height)
    {
        var owner = new int[width * height];
        for (int k = 0; k < polygons.Count; k++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    if (Inside(polygons[k], x + 0.5, y + 0.5))
                        owner[y * width + x] = k + 1;
        return owner;
    }
}
