using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// Works around a defect of oneDNN 3.7.1 (libtorch 2.10) on AVX-512 CPUs: its convolution kernels for the
/// blocked layout (nChw16c) give wrong results, and NaN when the stale memory they read holds one, when a
/// channel count they sum over is not a multiple of 16: the input gradient when out_channels % 16 != 0, the
/// output when in_channels &gt; 16 and in_channels % 16 != 0 (transposed convolutions: the reverse). Found
/// against float64; PyTorch 1.13 (oneDNN 2.6) is right on the same shapes. On the channels-last layout the
/// same kernels are right, so such convolutions get a channels-last input and give back a contiguous output;
/// those with multiples of 16 (all the large ones of the default models) keep the fast blocked path.
/// 1x1 convolutions are the exception both ways: in NCHW they measured right for every channel count tried
/// (3..270, strides 1 and 2, forward and both gradients), while channels-last 1x1 forwards are wrong whenever
/// out_channels &gt; 32 and not a multiple of 16 (HRNet's 270-channel head: relative error 0.4). They stay NCHW.
/// </summary>
public static class ChannelTailConvolutions
{
    /// <summary>The AVX-512 channel block of oneDNN's f32 convolution kernels.</summary>
    const long Block = 16;

    /// <summary>Whether a convolution has a channel count the defective kernels mishandle and a kernel larger
    /// than 1x1 (2-D convolutions only: the models here have no others).</summary>
    public static bool IsAffected(Convolution convolution) =>
        convolution.kernel_size.Length == 2
        && convolution.kernel_size.Any(side => side > 1)
        && (convolution.in_channels % Block != 0 || convolution.out_channels % Block != 0);

    /// <summary>Convolutions already routed (a model built from guarded parts must not hook them twice).</summary>
    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Convolution, object> Routed = [];

    /// <summary>Whether <paramref name="convolution"/> runs through the channels-last layout.</summary>
    public static bool IsGuarded(Convolution convolution) => Routed.TryGetValue(convolution, out _);

    /// <summary>Routes every affected 2-D convolution (and transposed convolution) under
    /// <paramref name="root"/> through the channels-last layout on the CPU; returns how many it newly routed.
    /// Idempotent: convolutions routed before are left as they are.</summary>
    public static int Guard(nn.Module root)
    {
        int guarded = 0;
        foreach (var module in root.modules())
        {
            if (module is not Convolution convolution || !IsAffected(convolution) || !Routed.TryAdd(convolution, Routed))
                continue;
            convolution.register_forward_pre_hook((_, input) => ToChannelsLast(input));
            convolution.register_forward_hook((_, _, output) => output.device_type == DeviceType.CPU ? output.contiguous() : output);
            guarded++;
        }
        return guarded;
    }

    /// <summary>The same values with NHWC strides (what ATen calls channels-last); TorchSharp has no
    /// memory-format argument, and ATen picks oneDNN's NHWC kernels, forward and backward, from these strides.</summary>
    internal static Tensor ToChannelsLast(Tensor input)
    {
        if (input.device_type != DeviceType.CPU || input.dim() != 4)
            return input;
        using var nhwc = input.permute(0, 2, 3, 1);
        using var packed = nhwc.contiguous();
        return packed.permute(0, 3, 1, 2);
    }
}
