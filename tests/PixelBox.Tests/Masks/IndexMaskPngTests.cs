using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

public class IndexMaskPngTests
{
    [Fact]
    public void PaletteMaskRoundTripsIndices()
    {
        var rng = new Random(3);
        var pixels = new byte[37 * 23];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i % 7 == 0 ? 255 : rng.Next(5));
        var mask = new IndexMask(37, 23, pixels);
        var decoded = IndexMaskPng.Decode(IndexMaskPng.Encode(mask, IndexMaskPng.VocPalette), "mem.png");
        Assert.Equal(37, decoded.Width);
        Assert.Equal(23, decoded.Height);
        Assert.Equal(pixels, decoded.Pixels);
    }

    [Fact]
    public void VocPaletteHasKnownColours()
    {
        var p = IndexMaskPng.VocPalette;
        Assert.Equal(new byte[] { 0, 0, 0 }, p[0..3]);
        Assert.Equal(new byte[] { 128, 0, 0 }, p[3..6]);      // aeroplane
        Assert.Equal(new byte[] { 0, 128, 0 }, p[6..9]);      // bicycle
        Assert.Equal(new byte[] { 224, 224, 192 }, p[765..768]); // 255: void
    }

    [Fact]
    public void WriteIsAtomicAndReadable()
    {
        var dir = Directory.CreateTempSubdirectory("pbx-png-");
        try
        {
            var path = Path.Combine(dir.FullName, "m.png");
            var mask = new IndexMask(4, 2, [0, 1, 2, 3, 3, 2, 1, 0]);
            IndexMaskPng.Write(path, mask);
            Assert.Equal(mask.Pixels, IndexMaskPng.Read(path).Pixels);
            Assert.Single(Directory.GetFiles(dir.FullName));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void CorruptAndWrongFilesGiveOneLineErrorsNamingTheFile()
    {
        var png = IndexMaskPng.Encode(new IndexMask(3, 3, new byte[9]), IndexMaskPng.VocPalette);
        png[40] ^= 0xFF; // inside a chunk: CRC mismatch
        var e = Assert.Throws<InputException>(() => IndexMaskPng.Decode(png, "bad.png"));
        Assert.StartsWith("bad.png: corrupt PNG", e.Message);
        Assert.DoesNotContain('\n', e.Message);

        var e2 = Assert.Throws<InputException>(() => IndexMaskPng.Decode("hello"u8, "text.png"));
        Assert.Equal("text.png: not a PNG file", e2.Message);

        var missing = Assert.Throws<InputException>(() => IndexMaskPng.Read("/nonexistent/x.png"));
        Assert.Equal("/nonexistent/x.png: file not found", missing.Message);
    }
}

public class IndexMaskPngGrayscaleTests
{
    [Fact]
    public void ReadsGrayscalePngWrittenBySkiaWithAdaptiveRowFilters()
    {
        // Skia's encoder picks Sub/Up/Average/Paeth per row, which our encoder never does: this covers the unfilter paths.
        const int w = 61, h = 29;
        using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(w, h, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque));
        var expected = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                expected[y * w + x] = (byte)((x * 7 + y * y * 3 + (x ^ y)) % 251);
        System.Runtime.InteropServices.Marshal.Copy(expected, 0, bitmap.GetPixels(), expected.Length);
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        var png = data.ToArray();
        Assert.Equal(0, png[25]); // IHDR colour type: grayscale

        var mask = IndexMaskPng.Decode(png, "gray.png");
        Assert.Equal(expected, mask.Pixels);
    }
}
