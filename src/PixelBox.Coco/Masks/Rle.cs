namespace PixelBox.Masks;

/// <summary>
/// Column-major (Fortran-order, as COCO) run-length encoding of an h x w binary mask: <see cref="Counts"/>
/// alternate runs of 0s and 1s, starting with 0s (a first count of 0 when the mask starts with 1).
/// </summary>
/// <remarks>
/// The counts array is taken as is, not copied: treat it as read-only once the RLE exists. Zero-length
/// runs other than the first are accepted (COCO files may hold them) and handled as pycocotools does.
/// </remarks>
public sealed class Rle
{
    /// <summary>
    /// The largest mask, in pixels: COCO's run-length code (pycocotools' maskApi) counts positions in 32-bit
    /// unsigned integers, so a mask of 2^32 or more pixels cannot be handled exactly.
    /// </summary>
    public const long MaxPixels = uint.MaxValue;

    /// <exception cref="ArgumentException">A negative size, more than <see cref="MaxPixels"/> pixels, or counts
    /// that do not sum to height * width.</exception>
    public Rle(int height, int width, uint[] counts)
    {
        CheckSize(height, width);
        ArgumentNullException.ThrowIfNull(counts);
        ulong sum = 0;
        foreach (var c in counts)
            sum += c;
        ulong pixels = (ulong)height * (ulong)width;
        if (sum != pixels)
            throw new ArgumentException(
                $"RLE runs sum to {sum} but a {height}x{width} mask has {pixels} pixels", nameof(counts));
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>Refuses a negative size or one of more than <see cref="MaxPixels"/> pixels (ArgumentException).</summary>
    public static void CheckSize(int height, int width)
    {
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(height < 0 ? nameof(height) : nameof(width), $"a mask size cannot be negative ({height}x{width})");
        if ((long)height * width > MaxPixels)
            throw new ArgumentException($"a {height}x{width} mask has more than {MaxPixels} pixels, the most COCO's 32-bit run-length encoding can address");
    }

    public int Height { get; }

    public int Width { get; }

    public uint[] Counts { get; }
}
