using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Fuzz.Targets;

/// <summary>The two image readers: our palette/grey PNG mask decoder and the SkiaSharp RGB path.</summary>
static class ImageTargets
{
    /// <summary>
    /// <see cref="IndexMaskPng"/>: one-line InputExceptions only; memory in proportion to the file (deflate
    /// expands at most 1032:1, a 1-bit mask holds 8 pixels a byte); whatever decodes must survive our own
    /// encode and decode unchanged.
    /// </summary>
    public static FuzzTarget PngMask() => new()
    {
        Name = "png-mask",
        Checks = "palette/grey PNG masks: one-line errors only, memory within 10 KB per input byte, decode(encode(mask)) == mask",
        Run = input =>
        {
            var mask = IndexMaskPng.Decode(input, "fuzz.png");
            var again = IndexMaskPng.Decode(IndexMaskPng.Encode(mask, IndexMaskPng.VocPalette), "again.png");
            if (again.Width != mask.Width || again.Height != mask.Height || !again.Pixels.AsSpan().SequenceEqual(mask.Pixels))
                throw new PropertyViolation("the decoded mask does not survive encode + decode");
        },
        MemoryBudget = length => (64L << 20) + 10_000L * length,
        Mutate = PngMutator.Mutate,
        MaxInputBytes = 16 << 10,
        Dictionary = [.. new[] { "IHDR", "IDAT", "IEND", "PLTE", "tRNS" }.Select(System.Text.Encoding.ASCII.GetBytes)],
    };

    /// <summary>
    /// <see cref="RgbImageFile"/> through a real file (the path users take): one-line InputExceptions only;
    /// the size from the header agrees with the decoded image and is within <see cref="ImageLimits"/>.
    /// </summary>
    public static FuzzTarget RgbImage() => new()
    {
        Name = "rgb-image",
        Checks = "RGB images via SkiaSharp (PNG, JPEG, BMP, GIF, WebP): one-line errors only, header size == decoded size, within the pixel limit",
        Run = input =>
        {
            var path = TempFiles.Write(input, "");
            var (w, h) = RgbImageFile.ReadSize(path);
            var image = RgbImageFile.Read(path);
            if (image.Width != w || image.Height != h || image.Pixels.LongLength != 3L * w * h)
                throw new PropertyViolation($"header says {w}x{h}, decoded {image.Width}x{image.Height} with {image.Pixels.LongLength} bytes");
        },
        // RGBA + RGB buffers (7 bytes a pixel) for up to 8300 pixels a byte (RgbImageFile's plausibility limit)
        MemoryBudget = length => (64L << 20) + 7L * 8300 * length,
        Mutate = PngMutator.Mutate,
        // inputs of a few KB can claim up to ~40 megapixels, decoded in a second or two even on a busy machine
        MaxInputBytes = 4 << 10,
    };
}

/// <summary>Scratch files for targets that read through a path (one per thread), deleted after a campaign.</summary>
public static class TempFiles
{
    [ThreadStatic] static string? path;
    static readonly System.Collections.Concurrent.ConcurrentBag<string> Created = [];

    public static string Write(byte[] bytes, string extension)
    {
        if (path is null)
        {
            path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(),
                $"pixelbox-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
            Created.Add(path);
        }
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static void DeleteAll()
    {
        foreach (var file in Created)
            File.Delete(file);
    }
}
