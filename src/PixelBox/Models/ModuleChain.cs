using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>Helpers shared by the model zoo's modules.</summary>
static class ModuleChain
{
    /// <summary>Runs <paramref name="layers"/> one after the other, disposing each intermediate activation as
    /// soon as the next layer has consumed it (never <paramref name="input"/>), so a deep stack holds one or
    /// two activations at a time instead of all of them until an enclosing dispose scope ends. Autograd keeps
    /// what it needs through its own references, so this is safe in training too.</summary>
    public static Tensor Run(IEnumerable<nn.Module<Tensor, Tensor>> layers, Tensor input)
    {
        var h = input;
        foreach (var layer in layers)
        {
            var next = layer.call(h);
            if (!ReferenceEquals(h, input) && !ReferenceEquals(h, next))
                h.Dispose();
            h = next;
        }
        return h;
    }

    /// <summary>Registers <paramref name="modules"/> as children "0", "1", ... of <paramref name="owner"/>,
    /// skipping nulls but keeping their index (PyTorch's ModuleList/Sequential numbering, with gaps where
    /// the original holds None).</summary>
    public static void RegisterIndexed(nn.Module owner, IReadOnlyList<nn.Module?> modules)
    {
        for (var i = 0; i < modules.Count; i++)
            if (modules[i] is { } module)
                owner.register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
    }

    /// <summary>Bilinear resize of an NCHW map to <paramref name="height"/> x <paramref name="width"/>.</summary>
    public static Tensor Resize(Tensor x, long height, long width, bool alignCorners) =>
        nn.functional.interpolate(x, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: alignCorners);

    /// <summary>torchvision's weight init for convolutional backbones: convolutions He-normal with fan_out
    /// (ReLU gain), biases zero, BatchNorm weight one and bias zero. Skipped on the meta device, where
    /// there are no values to set.</summary>
    public static void InitHeFanOut(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case TorchSharp.Modules.Conv2d conv when conv.weight!.device_type != DeviceType.META:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    conv.bias?.zero_();
                    break;
                case TorchSharp.Modules.BatchNorm2d bn when bn.weight is { } w && w.device_type != DeviceType.META:
                    w.fill_(1);
                    bn.bias!.zero_();
                    break;
            }
        }
    }
}
