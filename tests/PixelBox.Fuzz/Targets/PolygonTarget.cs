using System.Globalization;
using System.Text;
using PixelBox.Coco;
using PixelBox.Masks;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// Polygon and box rasterisation. Input: a line "H W", then one polygon per line ("x0 y0 x1 y1 ...", any
/// numbers: NaN, 1e308, far outside the image). Errors must be the documented ArgumentException; every
/// polygon whose dense walk is short is compared run for run with <see cref="PolygonWalkReference"/>, the
/// box fast path with the walk of the box's polygon, and the COCO segmentation (polygons united, or read
/// as boxes when the first has 4 numbers) must rasterise too.
/// </summary>
static class PolygonTarget
{
    const long ReferenceWalkLimit = 1_000_000;

    public static FuzzTarget Create() => new()
    {
        Name = "polygon",
        Checks = "polygon/box rasterisation: documented errors only; dense and skipping walks equal to pycocotools' walk; box fast path equal to its polygon",
        Run = Run,
        IsExpected = e => e is ArgumentException,
        Dictionary = [.. new[] { " ", "\n", "-", ".5", "1e8", "-1e8", "1e9", "NaN", "1e308", "0", "100000000", "99999999.9", "-0.2", "0.4" }.Select(Encoding.ASCII.GetBytes)],
    };

    static void Run(byte[] input)
    {
        var lines = Encoding.ASCII.GetString(input).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 2 || Numbers(lines[0]) is not [var hd, var wd] || !IsInt(hd) || !IsInt(wd))
            return;
        int h = (int)hd, w = (int)wd;
        var polygons = lines.Skip(1).Select(Numbers).Where(p => p.Length > 0).Take(64).ToArray();
        if (polygons.Length == 0)
            return;
        foreach (var xy in polygons)
        {
            if (xy.Length >= 2)
                CheckPolygon(xy, h, w);
            if (xy.Length >= 4)
                CheckBox(xy[0], xy[1], xy[2], xy[3], h, w);
        }
        CocoMasks.ToRle(new CocoPolygons(polygons), h, w);
    }

    static void CheckPolygon(double[] xy, int h, int w)
    {
        var rle = PolygonRasterizer.Rasterize(xy, h, w);
        // the walk that skips the points that cannot give a boundary (taken for long walks) must give the same
        var skipping = PolygonRasterizer.Rasterize(xy, h, w, denseWalkLimit: 0);
        if (!skipping.Counts.AsSpan().SequenceEqual(rle.Counts))
            throw new PropertyViolation($"polygon on {h}x{w}: the skipping walk's runs differ from the dense walk's");
        if (PolygonWalkReference.WalkLength(xy) > ReferenceWalkLimit)
            return;
        var expected = PolygonWalkReference.Rasterize(xy, h, w);
        if (!expected.AsSpan().SequenceEqual(rle.Counts))
            throw new PropertyViolation($"polygon on {h}x{w}: runs [{string.Join(",", rle.Counts.Take(12))}...] differ from the dense walk's [{string.Join(",", expected.Take(12))}...]");
    }

    static void CheckBox(double x, double y, double bw, double bh, int h, int w)
    {
        var box = RleOps.FromBox(x, y, bw, bh, h, w);
        double[] polygon = [x, y, x, y + bh, x + bw, y + bh, x + bw, y];
        if (!polygon.All(double.IsFinite) || PolygonWalkReference.WalkLength(polygon) > ReferenceWalkLimit)
            return;
        var expected = PolygonWalkReference.Rasterize(polygon, h, w);
        if (!expected.AsSpan().SequenceEqual(box.Counts))
            throw new PropertyViolation($"box [{x}, {y}, {bw}, {bh}] on {h}x{w}: runs differ from its polygon's walk");
    }

    static double[] Numbers(string line)
    {
        var numbers = new List<double>();
        foreach (var token in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                numbers.Add(v);
        return [.. numbers];
    }

    static bool IsInt(double v) => v == Math.Floor(v) && v >= int.MinValue && v <= int.MaxValue;
}
