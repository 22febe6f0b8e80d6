namespace PixelBox.Data;

/// <summary>
/// Per-channel normalisation of RGB bytes: value = (byte / 255 - Mean[c]) / Std[c], as torchvision's
/// ToTensor + Normalize. Mean and Std are on the 0..1 scale, in R, G, B order.
/// </summary>
public sealed record Normalization(float[] Mean, float[] Std)
{
    /// <summary>The ImageNet statistics that torchvision's pretrained backbones expect.</summary>
    public static Normalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// Normalises interleaved RGB bytes (HWC) into planar floats (CHW), the network input layout, with the same
    /// table as the batch loaders (so libtorch and ONNX Runtime runs see identical inputs).
    /// </summary>
    public float[] ToChw(ReadOnlySpan<byte> hwc, int width, int height)
    {
        int plane = width * height;
        if (hwc.Length != 3L * plane)
            throw new ArgumentException($"{hwc.Length} bytes do not hold a {width}x{height} RGB image");
        var table = Table();
        var chw = new float[3 * plane];
        for (int c = 0; c < 3; c++)
        {
            var lookup = table.AsSpan(c * 256, 256);
            var output = chw.AsSpan(c * plane, plane);
            for (int i = 0; i < plane; i++)
                output[i] = lookup[hwc[3 * i + c]];
        }
        return chw;
    }

    /// <summary>Lookup table: [c * 256 + byte] = normalised value of that byte in channel c.</summary>
    internal float[] Table()
    {
        if (Mean.Length != 3 || Std.Length != 3)
            throw new ArgumentException($"normalisation needs 3 means and 3 stds (RGB), got {Mean.Length} and {Std.Length}");
        var table = new float[3 * 256];
        for (int c = 0; c < 3; c++)
        {
            if (!(Std[c] > 0)) throw new ArgumentException($"std of channel {c} must be positive, got {Std[c]}");
            for (int v = 0; v < 256; v++) table[c * 256 + v] = (v / 255f - Mean[c]) / Std[c];
        }
        return table;
    }
}
