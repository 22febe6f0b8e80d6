using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>torchvision's small building blocks of SSDlite (torchvision/models/detection/ssdlite.py).</summary>
public static class SsdLiteBlocks
{
    /// <summary>torchvision's Conv2dNormActivation with ReLU6: a bias-free kxk convolution ("same" padding),
    /// the given BatchNorm, ReLU6; children 0, 1, 2.</summary>
    public static Sequential ConvNormActivation(long inChannels, long outChannels, int kernel, int stride, long groups,
        Func<long, BatchNorm2d> norm, Device? device) => nn.Sequential(
        nn.Conv2d(inChannels, outChannels, kernel_size: kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false, device: device),
        norm(outChannels),
        nn.ReLU6(inplace: true));

    /// <summary>torchvision's _extra_block: 1x1 to out/2, depthwise 3x3 stride 2, 1x1 to out, each with
    /// BatchNorm and ReLU6 (Sandler et al. 2018's SSDlite extra layers).</summary>
    public static Sequential ExtraBlock(long inChannels, long outChannels, Func<long, BatchNorm2d> norm, Device? device)
    {
        long intermediate = outChannels / 2;
        return nn.Sequential(
            ConvNormActivation(inChannels, intermediate, 1, 1, 1, norm, device),
            ConvNormActivation(intermediate, intermediate, 3, 2, intermediate, norm, device),
            ConvNormActivation(intermediate, outChannels, 1, 1, 1, norm, device));
    }

    /// <summary>torchvision's _normal_init: every convolution's weight N(0, 0.03), bias 0.</summary>
    public static void NormalInit(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (var conv in module.modules().OfType<Conv2d>())
        {
            nn.init.normal_(conv.weight, 0.0, 0.03);
            if (conv.bias is not null)
                nn.init.zeros_(conv.bias);
        }
    }
}
