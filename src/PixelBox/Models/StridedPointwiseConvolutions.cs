using System.Runtime.CompilerServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// Works around a crash of oneDNN 3.7.1 (libtorch 2.10): the backward pass of a strided 1x1 convolution can
/// end the process with a segmentation fault inside oneDNN's brgemm 1x1 backward blocking heuristics
/// (<c>brg_blocking_t::est_eff_1x1</c>); seen with ResNet-50's stage-3 shortcut, 512 -&gt; 1024 channels at
/// stride 2, on any input size and either memory layout (DeepLabV3+ trains through it). A 1x1 convolution of
/// stride s without padding is the same as the stride-1 convolution of every s-th row and column, which oneDNN
/// handles: while gradients are recorded, such convolutions give back that result instead (their own output
/// is dropped, so its backward never runs). Inference keeps the direct convolution, which is right.
/// </summary>
public static class StridedPointwiseConvolutions
{
    static readonly ConditionalWeakTable<Convolution, object> Routed = [];

    /// <summary>A non-transposed 2-D 1x1 convolution with a stride above 1 and no padding.</summary>
    public static bool IsAffected(Convolution convolution) =>
        convolution is Conv2d
        && convolution.kernel_size.All(side => side == 1)
        && convolution.stride.Any(step => step > 1)
        && convolution.padding is { } padding && padding.All(p => p == 0);

    public static bool IsGuarded(Convolution convolution) => Routed.TryGetValue(convolution, out _);

    /// <summary>Routes every affected convolution under <paramref name="root"/>; idempotent; returns how many it newly routed.</summary>
    public static int Guard(nn.Module root)
    {
        int guarded = 0;
        foreach (var module in root.modules())
        {
            if (module is not Conv2d convolution || !IsAffected(convolution) || !Routed.TryAdd(convolution, Routed))
                continue;
            convolution.register_forward_hook((_, input, output) =>
            {
                if (!is_grad_enabled() || input.dim() != 4)
                    return output;
                output.Dispose();
                long rowStep = convolution.stride[0], columnStep = convolution.stride[1];
                using var rows = input.slice(2, 0, input.shape[2], rowStep);
                using var sampled = rows.slice(3, 0, input.shape[3], columnStep);
                return nn.functional.conv2d(sampled, convolution.weight!, convolution.bias, [1, 1], [0, 0], [1, 1], convolution.groups);
            });
            guarded++;
        }
        return guarded;
    }
}
