using PixelBox.Data;
using PixelBox.Imaging;

namespace PixelBox.Tests.Data.Detection;

/// <summary>Tiny detection datasets made in temp folders: a few small PNGs and random boxes.</summary>
public static class DetectionTestData
{
    /// <summary>Writes a w x h RGB PNG with a pattern from <paramref name="seed"/>.</summary>
    public static void Png(string path, int w, int h, int seed)
    {
        var rng = new Random(seed);
        var pixels = new byte[w * h * 3];
        rng.NextBytes(pixels);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, RgbImageFile.EncodePng(new RgbImage(w, h, pixels)));
    }

    /// <summary>
    /// A random dataset holding only what <paramref name="carries"/> allows (flags, areas, ids), two splits
    /// train/val, one image in a subfolder, class names that need quoting in YAML, boxes of every kind of float
    /// (integers, quarter pixels, arbitrary) inside their images. Images are written under <paramref name="imagesDir"/>.
    /// </summary>
    public static DetectionDataset Random(string imagesDir, int seed, FormatCarries carries, string[]? splitNames = null)
    {
        var rng = new Random(seed);
        string[] names = ["cat", "dog house", "it's", "\u00fcn\u00efcode", "true", "a: b"];
        names = names.Take(3 + rng.Next(names.Length - 2)).ToArray();
        var categoryIds = carries.CategoryIds
            ? names.Select((_, k) => (long)(3 + 4 * k + rng.Next(3))).ToArray()
            : DetectionDataset.NumberedCategoryIds(names.Length);
        var splits = new List<DetectionSplit>();
        long id = carries.ImageIds ? 1000 + rng.Next(100) : 1;
        int n = 0;
        foreach (var splitName in splitNames ?? ["train", "val"])
        {
            var images = new List<DetectionImage>();
            int count = 2 + rng.Next(3);
            for (int i = 0; i < count; i++, n++)
            {
                int w = 5 + rng.Next(60), h = 5 + rng.Next(60);
                var fileName = n == 1 ? $"sub/img{n:D2}.png" : $"img{n:D2}.png";
                var path = Path.Combine(imagesDir, fileName);
                Png(path, w, h, seed * 100 + n);
                var objects = new List<DetectionObject>();
                int m = n % 4 == 3 ? 0 : 1 + rng.Next(5);
                for (int k = 0; k < m; k++)
                {
                    var (x0, x1) = Interval(rng, w);
                    var (y0, y1) = Interval(rng, h);
                    objects.Add(new DetectionObject(rng.Next(names.Length), x0, y0, x1, y1)
                    {
                        IsCrowd = carries.Crowd && rng.Next(4) == 0,
                        Difficult = carries.Difficult && rng.Next(3) == 0,
                        Truncated = carries.Truncated && rng.Next(3) == 0,
                        Area = carries.Area ? Math.Round(rng.NextDouble() * w * h, 2) : double.NaN,
                    });
                }
                images.Add(new DetectionImage(carries.ImageIds ? id + 3 * n : id + n, fileName, path, w, h, objects));
            }
            splits.Add(new DetectionSplit(splitName, images));
        }
        return new DetectionDataset(imagesDir, "memory", names, categoryIds, splits);
    }

    /// <summary>lo &lt; hi within [0, side]: integers, quarter pixels or arbitrary floats.</summary>
    static (float, float) Interval(Random rng, int side)
    {
        float a, b;
        do
        {
            switch (rng.Next(3))
            {
                case 0: a = rng.Next(side + 1); b = rng.Next(side + 1); break;
                case 1: a = rng.Next(4 * side + 1) / 4f; b = rng.Next(4 * side + 1) / 4f; break;
                default: a = (float)(rng.NextDouble() * side); b = (float)(rng.NextDouble() * side); break;
            }
        }
        while (a == b);
        return (Math.Min(a, b), Math.Max(a, b));
    }

    /// <summary>Every file under <paramref name="root"/>, relative path -> bytes.</summary>
    public static SortedDictionary<string, byte[]> Files(string root) =>
        new(Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllBytes), StringComparer.Ordinal);

    public static void AssertSameFiles(string expectedRoot, string actualRoot)
    {
        var expected = Files(expectedRoot);
        var actual = Files(actualRoot);
        Assert.Equal(expected.Keys, actual.Keys);
        foreach (var (name, bytes) in expected)
            Assert.True(bytes.AsSpan().SequenceEqual(actual[name]), $"{name} differs between {expectedRoot} and {actualRoot}");
    }
}
