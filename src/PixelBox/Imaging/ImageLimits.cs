namespace PixelBox.Imaging;

/// <summary>
/// The largest image the readers decode. An image's header can claim any size (a 60-byte PNG may say
/// 100000x100000); the claim is checked before any pixel memory is allocated, so a hostile or damaged file
/// fails at once with one line instead of an overflow or an out-of-memory crash.
/// </summary>
public static class ImageLimits
{
    /// <summary>
    /// 268,435,456 pixels, e.g. 16384 x 16384: far beyond the photos and masks segmentation is trained on
    /// (an 8000 x 8000 image is a quarter of it), and an RGBA decode of it still fits one 1 GB array.
    /// </summary>
    public const long MaxPixels = 1L << 28;

    /// <summary>Refuses a size that is not positive or is larger than <see cref="MaxPixels"/> (InputException naming the file).</summary>
    public static void Check(string file, long width, long height)
    {
        if (width <= 0 || height <= 0)
            throw new InputException(file, $"invalid image size {width}x{height}");
        if (width * height > MaxPixels)
            throw new InputException(file, $"image is {width}x{height} = {width * height} pixels, more than the {MaxPixels} supported (e.g. 16384x16384)");
    }
}
