using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// Runs convolutions with a dilation of 8 or more on the channels-last layout, for speed: libtorch 2.10 leaves
/// oneDNN's fast path for such NCHW convolutions. Measured at 2 threads, 3x3 with 256 -&gt; 256 channels on
/// 32x32 maps: dilation 6 3.6 ms either layout; dilations 8-18 15 ms in NCHW, 3.3-5.5 ms channels-last (on 64x64:
/// 36-39 ms against 18-26 ms). DeepLabV3's ASPP (rates 12, 24, 36; 960 or 2048 -&gt; 256 channels) took 48-57 ms per
/// branch in NCHW against 4-15 ms channels-last, PyTorch 1.13 18 ms. Dilations up to 6 (ResNet's output stride 8
/// and 16 stages, MobileNetV3's dilated stage) measured as fast or faster in NCHW and are left alone. The output
/// comes back contiguous, as the callers expect.
/// </summary>
public static class WideDilationConvolutions
{
    /// <summary>The smallest dilation that measured slower in NCHW than channels-last.</summary>
    public const long MinDilation = 8;

    static readonly ConditionalWeakTable<Convolution, object> Routed = [];

    /// <summary>A 2-D convolution with a kernel larger than 1x1 and a dilation of at least <see cref="MinDilation"/>.</summary>
    public static bool IsAffected(Convolution convolution) =>
        convolution.kernel_size.Length == 2
        && convolution.kernel_size.Any(side => side > 1)
        && convolution.dilation.Any(step => step >= MinDilation);

    public static bool IsGuarded(Convolution convolution) => Routed.TryGetValue(convolution, out _);

    /// <summary>Routes every affected convolution under <paramref name="root"/> that <see cref="ChannelTailConvolutions"/>
    /// does not already route; idempotent; returns how many it newly routed.</summary>
    public static int Guard(nn.Module root)
    {
        int guarded = 0;
        foreach (var module in root.modules())
        {
            if (module is not Convolution convolution || !IsAffected(convolution) || ChannelTailConvolutions.IsGuarded(convolution)
                || !Routed.TryAdd(convolution, Routed))
                continue;
            convolution.register_forward_pre_hook((_, input) => ChannelTailConvolutions.ToChannelsLast(input));
            convolution.register_forward_hook((_, _, output) => output.device_type == DeviceType.CPU ? output.contiguous() : output);
            guarded++;
        }
        return guarded;
    }
}
