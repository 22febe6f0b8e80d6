namespace PixelBox.Data;

/// <summary>
/// An image with its objects, ready for training: <paramref name="Image"/> RGB bytes row-major interleaved (HWC),
/// <paramref name="Boxes"/> 4 floats per object (x0, y0, x1, y1 in pixels of this image, continuous coordinates:
/// the image spans [0, Width] x [0, Height]), <paramref name="Labels"/> class indices 0..K-1. Optional per-object
/// flags, and optional instance masks (Width * Height bytes each, nonzero = inside) that augmentation transforms
/// with the image. Samples handed out by a dataset may be shared (cached): treat the arrays as read-only.
/// </summary>
public sealed record DetectionSample(string Id, int Width, int Height, byte[] Image, float[] Boxes, int[] Labels)
{
    public bool[]? IsCrowd { get; init; }
    public bool[]? Difficult { get; init; }
    public byte[][]? Masks { get; init; }

    public int Count => Labels.Length;

    /// <summary>Throws <see cref="ArgumentException"/> when the arrays do not fit the sizes.</summary>
    public void Validate()
    {
        if (Width <= 0 || Height <= 0 || Image.Length != (long)Width * Height * 3)
            throw new ArgumentException($"sample '{Id}': {Image.Length} image bytes do not fit {Width}x{Height}x3");
        if (Boxes.Length != 4 * Labels.Length)
            throw new ArgumentException($"sample '{Id}': {Boxes.Length} box values for {Labels.Length} labels");
        if (IsCrowd is not null && IsCrowd.Length != Count || Difficult is not null && Difficult.Length != Count)
            throw new ArgumentException($"sample '{Id}': a flag array's length differs from the {Count} objects");
        if (Masks is not null && (Masks.Length != Count || Masks.Any(m => m.Length != (long)Width * Height)))
            throw new ArgumentException($"sample '{Id}': masks must be one {Width}x{Height} plane per object");
    }
}
