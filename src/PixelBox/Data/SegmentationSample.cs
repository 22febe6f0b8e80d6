namespace PixelBox.Data;

/// <summary>
/// An image and its label mask of equal size: <paramref name="Image"/> is RGB, row-major interleaved (HWC,
/// Width * Height * 3 bytes); <paramref name="Mask"/> one class label per pixel (Width * Height bytes).
/// Samples handed out by a dataset may be shared (cached), so treat the arrays as read-only.
/// </summary>
public sealed record SegmentationSample(string Id, int Width, int Height, byte[] Image, byte[] Mask);
