using PixelBox.Imaging;

namespace PixelBox.Tests.Imaging;

public class PngRowWriterTests
{
    static byte[] Encode(byte[] pixels, int width, int height, int channels)
    {
        using var stream = new MemoryStream();
        using (var png = new PngRowWriter(stream, width, height, channels))
        {
            for (int y = 0; y < height; y++)
                png.WriteRow(pixels.AsSpan(y * width * channels, width * channels));
            png.Finish();
        }
        return stream.ToArray();
    }

    static RgbImage Decode(byte[] png, string dir)
    {
        var path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".png");
        File.WriteAllBytes(path, png);
        return RgbImageFile.Read(path);
    }

    [Theory]
    [InlineData(300, 250)] // random bytes do not compress: several 64 KB IDAT chunks
    [InlineData(1, 1)]
    public void Skia_decodes_rgb_rows_to_the_pixels_written(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        new Random(width).NextBytes(pixels);
        var png = Encode(pixels, width, height, 3);
        Assert.True(width < 300 || System.Text.Encoding.ASCII.GetString(png).Split("IDAT").Length > 3, "several IDAT chunks");
        var image = Decode(png, Training.TinyTask.TempDir());
        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void Grey_rows_decode_to_equal_channels()
    {
        var pixels = new byte[37 * 21];
        new Random(3).NextBytes(pixels);
        var image = Decode(Encode(pixels, 37, 21, 1), Training.TinyTask.TempDir());
        Assert.Equal(pixels, Enumerable.Range(0, pixels.Length).Select(i => image.Pixels[3 * i]));
        Assert.Equal(pixels, Enumerable.Range(0, pixels.Length).Select(i => image.Pixels[3 * i + 2]));
    }

    [Fact]
    public void Rows_of_the_wrong_length_or_number_are_refused()
    {
        using var stream = new MemoryStream();
        using var png = new PngRowWriter(stream, 4, 2, 3);
        Assert.Throws<ArgumentException>(() => png.WriteRow(new byte[11]));
        png.WriteRow(new byte[12]);
        Assert.Throws<InvalidOperationException>(() => png.Finish());
        png.WriteRow(new byte[12]);
        Assert.Throws<InvalidOperationException>(() => png.WriteRow(new byte[12]));
    }
}
