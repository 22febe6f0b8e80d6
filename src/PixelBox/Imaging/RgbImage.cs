using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace PixelBox.Imaging;

/// <summary>An 8-bit RGB image, row-major and interleaved (HWC): Pixels[(y * Width + x) * 3 + channel].</summary>
public sealed record RgbImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Reads images of any format SkiaSharp decodes (PNG, JPEG, BMP, WebP, GIF) as RGB, and writes RGB PNGs
/// with our own encoder so generated files are byte-identical on every machine for the same .NET runtime.
/// </summary>
public static class RgbImageFile
{
    /// <summary>
    /// Decodes to RGB: grey and palette images are expanded, alpha is dropped (not composited) and no colour
    /// profile or EXIF orientation is applied, so pixels line up with masks drawn on the stored raster
    /// (as PIL's <c>Image.open(...).convert("RGB")</c> does).
    /// </summary>
    public static RgbImage Read(string path) => WithCodec(path, headerOnly: false, codec =>
    {
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[(long)info.Width * info.Height * 4];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba)
                result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new InputException(path, result == SKCodecResult.IncompleteInput
                ? "corrupt image (truncated data)"
                : $"corrupt image (decoder says {result})");
        var rgb = new byte[(long)info.Width * info.Height * 3];
        for (long i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
        return new RgbImage(info.Width, info.Height, rgb);
    });

    /// <summary>Width and height from the file header, without decoding the pixels (usually from the first 64 KB).</summary>
    public static (int Width, int Height) ReadSize(string path) =>
        WithCodec(path, headerOnly: true, codec => (codec.Info.Width, codec.Info.Height));

    /// <summary>Image files larger than this are refused unread (an uncompressed 32-bit BMP at the pixel limit is 1 GB).</summary>
    public const long MaxFileBytes = 4 * ImageLimits.MaxPixels + (64L << 20);

    const int HeaderBytes = 64 << 10;

    /// <summary>
    /// Reads the file (a regular, readable file: <see cref="InputFile"/>; with <paramref name="headerOnly"/> only
    /// its start, unless the header lies further in) and checks the size its header claims before
    /// <paramref name="use"/> allocates anything for it: within <see cref="ImageLimits"/>, and no more than
    /// <see cref="MaxPixelsPerByte"/> pixels per byte of file beyond 4 megapixels. Skia decodes from memory:
    /// a codec reading through a managed stream calls back into .NET, where an exception ends the process.
    /// </summary>
    static T WithCodec<T>(string path, bool headerOnly, Func<SKCodec, T> use)
    {
        using var file = InputFile.OpenRead(path);
        long length = file.Length;
        InputFile.CheckSize(path, length, MaxFileBytes, "an image");
        var bytes = new byte[headerOnly ? Math.Min(length, HeaderBytes) : length];
        InputFile.ReadExactly(file, path, bytes);
        var codec = CreateCodec(bytes);
        if (codec is null && bytes.Length < length)
        {
            var whole = new byte[length];
            bytes.CopyTo(whole, 0);
            InputFile.ReadExactly(file, path, whole.AsSpan(bytes.Length));
            codec = CreateCodec(whole);
        }
        if (codec is null)
            throw new InputException(path, "not a readable image (corrupt or unsupported format)");
        using (codec)
        {
            var (width, height) = (codec.Info.Width, codec.Info.Height);
            ImageLimits.Check(path, width, height);
            if ((long)width * height > (4L << 20) + MaxPixelsPerByte * length)
                throw new InputException(path, $"implausible image: the header claims {width}x{height} pixels for a file of {length} bytes (truncated or forged?)");
            return use(codec);
        }
    }

    /// <summary>
    /// A header claiming more pixels per byte of file (beyond the first 4 megapixels) than PNG can hold (a
    /// blank 1-bit image: deflate expands at most 1032:1, 8 pixels a byte) belongs to a truncated or forged
    /// file, or to a canvas far larger than its content (a GIF frame on a huge screen), and is refused before
    /// its pixels are allocated: memory and decoding time stay in proportion to the file. Only a large, nearly
    /// blank WebP or GIF could be denser, which is no training image.
    /// </summary>
    const long MaxPixelsPerByte = 8300;

    static SKCodec? CreateCodec(byte[] bytes)
    {
        if (bytes.Length == 0)
            return null;
        using var data = SKData.CreateCopy(bytes);
        return SKCodec.Create(data);
    }

    /// <summary>Writes an 8-bit RGB PNG atomically (temp file + rename).</summary>
    public static void WritePng(string path, RgbImage image) => AtomicFile.WriteAllBytes(path, EncodePng(image));

    public static byte[] EncodePng(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        if (w <= 0 || h <= 0 || image.Pixels.Length != (long)w * h * 3)
            throw new ArgumentException($"image has {image.Pixels.Length} bytes, expected {w}x{h}x3");
        using var ms = new MemoryStream();
        ms.Write(PngChunks.Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // truecolour RGB
        PngChunks.Write(ms, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                // Filter "Sub" (1): each byte minus the same channel of the pixel to its left; cheap and good on smooth images.
                int stride = w * 3;
                var line = new byte[stride + 1];
                line[0] = 1;
                for (int y = 0; y < h; y++)
                {
                    var row = image.Pixels.AsSpan(y * stride, stride);
                    row[..3].CopyTo(line.AsSpan(1));
                    for (int i = 3; i < stride; i++) line[i + 1] = (byte)(row[i] - row[i - 3]);
                    z.Write(line);
                }
            }
            PngChunks.Write(ms, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }
        PngChunks.Write(ms, "IEND", []);
        return ms.ToArray();
    }
}
