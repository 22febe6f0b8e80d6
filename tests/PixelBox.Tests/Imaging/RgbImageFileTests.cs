using PixelBox.Imaging;
using PixelBox.Tests.Data;
using SkiaSharp;

namespace PixelBox.Tests.Imaging;

public class RgbImageFileTests
{
    static RgbImage RandomImage(int w, int h, int seed)
    {
        var px = new byte[w * h * 3];
        new Random(seed).NextBytes(px);
        return new RgbImage(w, h, px);
    }

    static byte[] EncodeWithSkia(int w, int h, SKColorType type, SKAlphaType alpha, byte[] raw, SKEncodedImageFormat format, int quality = 100)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, type, alpha));
        System.Runtime.InteropServices.Marshal.Copy(raw, 0, bitmap.GetPixels(), raw.Length);
        using var data = bitmap.Encode(format, quality);
        return data.ToArray();
    }

    [Fact]
    public void OurPngDecodesWithSkiaToTheSamePixels()
    {
        using var tmp = new TempDir();
        foreach (var (w, h) in new[] { (1, 1), (37, 5), (64, 48) })
        {
            var image = RandomImage(w, h, w * 100 + h);
            var path = tmp.Combine($"{w}x{h}.png");
            RgbImageFile.WritePng(path, image);
            using var decoded = SKBitmap.Decode(path);
            Assert.Equal((w, h), (decoded.Width, decoded.Height));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    var c = decoded.GetPixel(x, y);
                    int p = 3 * (y * w + x);
                    Assert.Equal((image.Pixels[p], image.Pixels[p + 1], image.Pixels[p + 2]), (c.Red, c.Green, c.Blue));
                }
            Assert.Equal(image.Pixels, RgbImageFile.Read(path).Pixels);
            Assert.Equal((w, h), RgbImageFile.ReadSize(path));
        }
    }

    [Fact]
    public void ReadsGreyAndRgbaPngAndJpegAsRgb()
    {
        using var tmp = new TempDir();
        var grey = new byte[] { 0, 50, 100, 150, 200, 250 };
        File.WriteAllBytes(tmp.Combine("grey.png"), EncodeWithSkia(3, 2, SKColorType.Gray8, SKAlphaType.Opaque, grey, SKEncodedImageFormat.Png));
        Assert.Equal(grey.SelectMany(g => new[] { g, g, g }), RgbImageFile.Read(tmp.Combine("grey.png")).Pixels);

        // Alpha is dropped, not composited: a half-transparent red pixel stays (200, 10, 20).
        var rgba = new byte[] { 200, 10, 20, 128, 1, 2, 3, 255 };
        File.WriteAllBytes(tmp.Combine("rgba.png"), EncodeWithSkia(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul, rgba, SKEncodedImageFormat.Png));
        Assert.Equal(new byte[] { 200, 10, 20, 1, 2, 3 }, RgbImageFile.Read(tmp.Combine("rgba.png")).Pixels);

        // JPEG is lossy: a smooth image comes back close.
        const int w = 32, h = 16;
        var smooth = new byte[w * h * 4];
        for (int i = 0; i < w * h; i++)
            (smooth[4 * i], smooth[4 * i + 1], smooth[4 * i + 2], smooth[4 * i + 3]) = ((byte)(i % w * 6), (byte)(i / w * 12), 90, 255);
        File.WriteAllBytes(tmp.Combine("photo.jpg"), EncodeWithSkia(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul, smooth, SKEncodedImageFormat.Jpeg, 95));
        var jpeg = RgbImageFile.Read(tmp.Combine("photo.jpg"));
        Assert.Equal((w, h), (jpeg.Width, jpeg.Height));
        for (int i = 0; i < w * h; i++)
            for (int c = 0; c < 3; c++)
                Assert.InRange(jpeg.Pixels[3 * i + c] - smooth[4 * i + c], -12, 12);
    }

    [Fact]
    public void MissingCorruptAndTruncatedFilesNameTheFile()
    {
        using var tmp = new TempDir();
        var missing = tmp.Combine("nope.png");
        Assert.Equal($"{missing}: file not found", Assert.Throws<InputException>(() => RgbImageFile.Read(missing)).Message);

        var garbage = tmp.Combine("garbage.png");
        File.WriteAllText(garbage, "this is not an image");
        var e = Assert.Throws<InputException>(() => RgbImageFile.Read(garbage));
        Assert.StartsWith($"{garbage}: not a readable image", e.Message);
        Assert.Throws<InputException>(() => RgbImageFile.ReadSize(garbage));

        // Header intact, pixel data cut off: the size is readable, the pixels are not.
        var png = RgbImageFile.EncodePng(RandomImage(40, 40, 1));
        var truncated = tmp.Combine("truncated.png");
        File.WriteAllBytes(truncated, png[..(png.Length / 2)]);
        Assert.Equal((40, 40), RgbImageFile.ReadSize(truncated));
        var t = Assert.Throws<InputException>(() => RgbImageFile.Read(truncated));
        Assert.StartsWith($"{truncated}: corrupt image", t.Message);
        Assert.DoesNotContain('\n', t.Message);
    }
}
