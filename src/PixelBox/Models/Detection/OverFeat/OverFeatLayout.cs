namespace PixelBox.Models.Detection.OverFeat;

/// <summary>A layer of OverFeat's feature extractor: a convolution (kernel, channels, stride, padding), or a
/// max-pool (kernel, stride) when Channels is 0.</summary>
public readonly record struct OverFeatLayer(int Kernel, int Channels, int Stride = 1, int Padding = 0)
{
    public static OverFeatLayer Pool(int kernel, int stride) => new(kernel, 0, stride);

    public bool IsPool => Channels == 0;
}

/// <summary>
/// An OverFeat network shape: the feature layers (each convolution followed by ReLU, with BatchNorm when
/// asked), the "fully connected" layers written as convolutions (the first FullKernel x FullKernel over the
/// last map of a window, the others 1x1) of the classifier and of the box regressor, dropout in the
/// classifier's hidden layers, and the image pyramid.
/// </summary>
/// <param name="Window">Input side of one window (the classifier's field of view): FullKernel cells of the last map.</param>
/// <param name="ClassifierWidths">Hidden widths of the classifier (paper: layers 6 and 7).</param>
/// <param name="RegressorWidths">Hidden widths of the regressor (paper: 4096 and 1024, over layer 5's pooled maps).</param>
/// <param name="PyramidSides">Sides of the pyramid's images for a native input of NativeInputSize pixels, smallest
/// first; for another input side they are scaled in proportion.</param>
public sealed record OverFeatLayout(
    string Name,
    IReadOnlyList<OverFeatLayer> Features,
    int FullKernel,
    IReadOnlyList<int> ClassifierWidths,
    IReadOnlyList<int> RegressorWidths,
    double Dropout,
    bool BatchNorm,
    int Window,
    int NativeInputSize,
    IReadOnlyList<int> PyramidSides)
{
    /// <summary>Pixels between neighbouring windows (the product of the feature layers' strides).</summary>
    public int Stride => Features.Aggregate(1, (s, l) => s * l.Stride);

    /// <summary>Positions along a side of <paramref name="side"/> pixels (0 when a window does not fit).</summary>
    public long Positions(long side)
    {
        foreach (var layer in Features)
        {
            side = (side + 2 * layer.Padding - layer.Kernel) / layer.Stride + 1;
            if (side < 1)
                return 0;
        }
        return Math.Max(0, side - FullKernel + 1);
    }

    /// <summary>The pyramid's image sides for an input side: PyramidSides scaled by side / NativeInputSize, rounded.</summary>
    public long[] ScaledSides(long side) =>
        [.. PyramidSides.Select(p => (long)Math.Round((double)p * side / NativeInputSize, MidpointRounding.AwayFromZero))];

    /// <summary>
    /// The "fast" model of the paper (Sermanet et al. 2013, Table 1): 11x11/4 96, pool 2; 5x5 256, pool 2;
    /// 3x3 512, 3x3 1024, 3x3 1024 (padding 1), pool 2; full 3072 (6x6), full 4096, output; ReLU, no
    /// normalisation, dropout 0.5 in layers 6 and 7; 231 x 231 windows every 32 pixels. The classifier
    /// counts 145,920,872 parameters with 1,000 outputs, as the paper's ImageNet model. The regressor is the
    /// paper's (sec. 4.2): over layer 5's pooled maps, 4096 (6x6) and 1024 hidden units, 4 outputs per class.
    /// Pyramid: the six image sides of the paper's Table 5 (245 .. 461 pixels).
    /// </summary>
    public static OverFeatLayout Fast { get; } = new("fast",
    [
        new(11, 96, 4), OverFeatLayer.Pool(2, 2),
        new(5, 256), OverFeatLayer.Pool(2, 2),
        new(3, 512, 1, 1), new(3, 1024, 1, 1), new(3, 1024, 1, 1), OverFeatLayer.Pool(2, 2),
    ], FullKernel: 6, ClassifierWidths: [3072, 4096], RegressorWidths: [4096, 1024], Dropout: 0.5, BatchNorm: false,
        Window: 231, NativeInputSize: 461, PyramidSides: [245, 281, 317, 389, 425, 461]);

    /// <summary>
    /// A CPU-trainable OverFeat with the same structure at a small size: 3x3 convolutions with BatchNorm (16, 32,
    /// 64, 64 channels; pools after the first, second and fourth), windows of 32 x 32 every 8 pixels, classifier
    /// and regressor 4x4 then 1x1 (128, 128 and 128, 64 hidden), no dropout. Pyramid of five images for the
    /// native 64 x 64 input: 32, 45, 64, 91 and 128 pixels (factor sqrt 2), so a window covers from the whole
    /// image to a quarter of its side.
    /// </summary>
    public static OverFeatLayout Cpu { get; } = new("cpu",
    [
        new(3, 16, 1, 1), OverFeatLayer.Pool(2, 2),
        new(3, 32, 1, 1), OverFeatLayer.Pool(2, 2),
        new(3, 64, 1, 1), new(3, 64, 1, 1), OverFeatLayer.Pool(2, 2),
    ], FullKernel: 4, ClassifierWidths: [128, 128], RegressorWidths: [128, 64], Dropout: 0, BatchNorm: true,
        Window: 32, NativeInputSize: 64, PyramidSides: [32, 45, 64, 91, 128]);
}
