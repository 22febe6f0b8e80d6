using System.Text.Json.Nodes;
using PixelBox.Imaging;
using PixelBox.Masks;
using SkiaSharp;

namespace PixelBox.Tests.Data.Segmentation;

/// <summary>Tiny VOC, Cityscapes and COCO samples written into temp folders, with the labels each should load as.</summary>
public static class SegmentationTestData
{
    /// <summary>Cityscapes' train ids of the 19 classes by label id (cityscapesScripts labels.py); every other id is 255.</summary>
    public static readonly IReadOnlyDictionary<int, int> CityscapesTrainIds = new Dictionary<int, int>
    {
        [7] = 0, [8] = 1, [11] = 2, [12] = 3, [13] = 4, [17] = 5, [19] = 6, [20] = 7, [21] = 8, [22] = 9,
        [23] = 10, [24] = 11, [25] = 12, [26] = 13, [27] = 14, [28] = 15, [31] = 16, [32] = 17, [33] = 18,
    };

    /// <summary>An RGB image, as PNG or (for .jpg) JPEG, with a pattern from <paramref name="seed"/>.</summary>
    public static void Image(string path, int w, int h, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var pixels = new byte[w * h * 3];
        new Random(seed).NextBytes(pixels);
        if (!path.EndsWith(".jpg", StringComparison.Ordinal))
        {
            File.WriteAllBytes(path, RgbImageFile.EncodePng(new RgbImage(w, h, pixels)));
            return;
        }
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = 3 * (y * w + x);
                bitmap.SetPixel(x, y, new SKColor(pixels[i], pixels[i + 1], pixels[i + 2]));
            }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>Row-major values v(x, y) of a w x h mask.</summary>
    public static byte[] Values(int w, int h, Func<int, int, int> v)
    {
        var m = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                m[y * w + x] = (byte)v(x, y);
        return m;
    }

    /// <summary>A palette PNG (VOC's SegmentationClass).</summary>
    public static void PaletteMask(string path, int w, int h, byte[] values)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        IndexMaskPng.Write(path, new IndexMask(w, h, values));
    }

    /// <summary>An 8-bit grayscale PNG (Cityscapes' labelIds), written by Skia, not by PixelBox's mask codec.</summary>
    public static void GreyMask(string path, int w, int h, byte[] values)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Gray8, SKAlphaType.Opaque));
        values.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    /// <summary>VOC's pattern: every class 0..20 and 255 (void) in turn.</summary>
    public static int VocValue(int x, int y, int seed) => (x + 3 * y + seed) % 22 is var k && k == 21 ? 255 : k;

    public static readonly (string Id, int W, int H, string Split)[] VocSamples =
        [("2007_000032", 16, 12, "train"), ("2007_000039", 20, 16, "train"), ("2007_000063", 12, 8, "val"), ("2007_000068", 16, 12, "val")];

    /// <summary>A VOC2012 folder with SegmentationClass/ and the split files train, val, trainval; plus an image without mask, as VOC has.</summary>
    public static string Voc(string root)
    {
        for (int i = 0; i < VocSamples.Length; i++)
        {
            var (id, w, h, _) = VocSamples[i];
            Image(Path.Combine(root, "JPEGImages", id + ".jpg"), w, h, i);
            PaletteMask(Path.Combine(root, "SegmentationClass", id + ".png"), w, h, Values(w, h, (x, y) => VocValue(x, y, i)));
        }
        Image(Path.Combine(root, "JPEGImages", "2008_000001.jpg"), 8, 8, 9); // detection-only image
        var sets = Path.Combine(root, "ImageSets", "Segmentation");
        Directory.CreateDirectory(sets);
        foreach (var split in new[] { "train", "val" })
            File.WriteAllLines(Path.Combine(sets, split + ".txt"), VocSamples.Where(s => s.Split == split).Select(s => s.Id));
        File.WriteAllLines(Path.Combine(sets, "trainval.txt"), VocSamples.Select(s => s.Id));
        return root;
    }

    /// <summary>Cityscapes' pattern: every label id 0..33 in turn.</summary>
    public static int CityscapesId(int x, int y, int seed) => (7 * x + 3 * y + seed) % 34;

    public static readonly (string Split, string City, string Id, int W, int H)[] CityscapesSamples =
    [
        ("train", "aachen", "aachen_000000_000019", 16, 8), ("train", "aachen", "aachen_000001_000019", 16, 8),
        ("train", "bochum", "bochum_000000_000313", 16, 8), ("val", "frankfurt", "frankfurt_000000_000294", 24, 12),
    ];

    /// <summary>A Cityscapes root: leftImg8bit/ and gtFine/ (labelIds, plus the color and instanceIds PNGs the reader must pass over).</summary>
    public static string Cityscapes(string root)
    {
        for (int i = 0; i < CityscapesSamples.Length; i++)
        {
            var (split, city, id, w, h) = CityscapesSamples[i];
            Image(Path.Combine(root, "leftImg8bit", split, city, id + "_leftImg8bit.png"), w, h, i);
            var gt = Path.Combine(root, "gtFine", split, city, id + "_gtFine_");
            GreyMask(gt + "labelIds.png", w, h, Values(w, h, (x, y) => CityscapesId(x, y, i)));
            GreyMask(gt + "instanceIds.png", w, h, Values(w, h, (x, y) => 99));
            Image(gt + "color.png", w, h, 7);
        }
        return root;
    }

    /// <summary>The train ids <paramref name="labelIds"/> should load as, from <see cref="CityscapesTrainIds"/>.</summary>
    public static byte[] TrainIds(byte[] labelIds) =>
        labelIds.Select(v => (byte)(CityscapesTrainIds.TryGetValue(v, out var t) ? t : 255)).ToArray();

    /// <summary>Uncompressed COCO RLE counts (column-major runs, starting with 0s) of the rectangle [x0, x1) x [y0, y1) on a w x h image.</summary>
    public static JsonArray RectangleCounts(int w, int h, int x0, int y0, int x1, int y1)
    {
        var counts = new List<long>();
        bool inside = false;
        long run = 0;
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h; y++)
            {
                bool v = x >= x0 && x < x1 && y >= y0 && y < y1;
                if (v != inside)
                {
                    counts.Add(run);
                    (run, inside) = (0, v);
                }
                run++;
            }
        counts.Add(run);
        return new JsonArray(counts.Select(c => (JsonNode)c).ToArray());
    }
}
