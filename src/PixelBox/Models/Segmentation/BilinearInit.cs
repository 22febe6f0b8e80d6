using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// Caffe's "bilinear" filler as used by FCN: a transposed convolution that starts out as bilinear
/// upsampling of each channel onto itself (weights [in, out, k, k], filter on the diagonal, zero elsewhere).
/// </summary>
public static class BilinearInit
{
    /// <summary>The k x k bilinear interpolation kernel for an upsampling factor of ceil(k/2).</summary>
    public static float[,] Kernel(int k)
    {
        var factor = (k + 1) / 2;
        var center = k % 2 == 1 ? factor - 1 : factor - 0.5;
        var kernel = new float[k, k];
        for (var y = 0; y < k; y++)
            for (var x = 0; x < k; x++)
                kernel[y, x] = (float)((1 - Math.Abs(y - center) / factor) * (1 - Math.Abs(x - center) / factor));
        return kernel;
    }

    /// <summary>Overwrites <paramref name="layer"/>'s weight with per-channel bilinear upsampling.</summary>
    public static void Apply(ConvTranspose2d layer)
    {
        var weight = layer.weight!;
        var (inChannels, outChannels, k) = (weight.shape[0], weight.shape[1], (int)weight.shape[2]);
        if (weight.shape[3] != k)
            throw new ArgumentException($"bilinear init needs a square kernel, got {k}x{weight.shape[3]}");
        using var noGrad = no_grad();
        using var filter = tensor(Kernel(k), device: weight.device);
        weight.zero_();
        for (long c = 0; c < Math.Min(inChannels, outChannels); c++)
        {
            using var slot = weight[c, c];
            slot.copy_(filter);
        }
    }
}
