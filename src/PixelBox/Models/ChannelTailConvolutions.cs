using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// Works around a oneDNN defect in libtorch 2.10 (oneDNN 3.7.1) on AVX-512 CPUs: its direct convolution
/// kernels for the blocked channel layout (nChw16c) compute wrong results when a channel count they
/// reduce over is not a multiple of 16, the AVX-512 channel block. Measured against float64 (PyTorch 1.13 with
/// oneDNN 2.6 is correct on the same shapes): the input gradient of a 3x3 or 5x5 stride-1 convolution
/// with out_channels % 16 != 0 drops kernel taps and, when the padding lanes hold stale memory, turns NaN;
/// the forward of a convolution with in_channels &gt; 16 and in_channels % 16 != 0 is wrong, and so are the
/// corresponding directions of transposed convolutions. The same kernels on the channels-last (NHWC)
/// layout are correct, so the convolutions with such channel counts get a channels-last input (and give a
/// contiguous output back, so the rest of the network keeps its usual layout). Convolutions whose channel
/// counts are multiples of 16 (all the large ones of the default models) keep the fast blocked path.
/// </summary>
public static class ChannelTailConvolutions
{
    /// <summary>The AVX-512 channel block of oneDNN's f32 convolution kernels.</summary>
    const long Block = 16;

    /// <summary>Whether a convolution has a channel count the defective kernels mishandle (2-D convolutions
    /// only: the models here have no others).</summary>
    public static bool IsAffected(Convolution convolution) =>
        convolution.kernel_size.Length == 2
        && (convolution.in_channels % Block != 0 || convolution.out_channels % Block != 0);

    /// <summary>Routes every affected 2-D convolution (and transposed convolution) under
    /// <paramref name="root"/> through the channels-last layout on the CPU; returns how many it routed.
    /// Call once per model: each call adds hooks.</summary>
    public static int Guard(nn.Module root)
    {
        int guarded = 0;
        foreach (var module in root.modules())
        {
            if (module is not Convolution convolution || !IsAffected(convolution))
                continue;
            convolution.register_forward_pre_hook((_, input) => ToChannelsLast(input));
            convolution.register_forward_hook((_, _, output) => output.device_type == DeviceType.CPU ? output.contiguous() : output);
            guarded++;
        }
        return guarded;
    }

    /// <summary>The same values with NHWC strides (what ATen calls channels-last); TorchSharp has no
    /// memory-format argument, and ATen picks oneDNN's NHWC kernels, forward and backward, from these strides.</summary>
    static Tensor ToChannelsLast(Tensor input) =>
        input.device_type == DeviceType.CPU && input.dim() == 4
            ? input.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
            : input;
}
