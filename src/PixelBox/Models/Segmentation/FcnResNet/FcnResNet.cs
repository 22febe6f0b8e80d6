using PixelBox.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// torchvision's <c>fcn_resnet50</c> / <c>fcn_resnet101</c> module for module: a dilated ResNet (output
/// stride 8) and an <see cref="FcnHead"/> on layer4 (2048 -> 512 -> classes), optionally an auxiliary
/// FCNHead on layer3 (1024 -> 256 -> classes); logits resized bilinearly to the input. With 21 classes
/// 32,957,013 (ResNet-50) and 51,949,141 (ResNet-101) parameters without the auxiliary head.
/// </summary>
public sealed class FcnResNet : SimpleSegmentationModel
{
    FcnResNet(string name, int numClasses, int inChannels, ResNet backbone, bool auxHead, Device? device)
        : base(name, numClasses, inChannels, backbone,
            FcnHead.Create(backbone["out"].Channels, numClasses, device),
            auxHead ? FcnHead.Create(backbone["aux"].Channels, numClasses, device) : null)
    {
    }

    /// <summary>An FCN on any ResNet trunk returning "out" (and "aux" with the auxiliary head), e.g. a narrow one
    /// (<see cref="ResNet"/>'s base width) for tiny models and tests.</summary>
    public static FcnResNet Create(string name, ResNet backbone, int numClasses, int inChannels, bool auxHead = false, Device? device = null) =>
        new(name, numClasses, inChannels, backbone, auxHead, device);

    /// <summary>torchvision's <c>fcn_resnet50(num_classes, aux_loss)</c>.</summary>
    public static FcnResNet ResNet50(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("fcn-resnet50", numClasses, inChannels, ResNet.ResNet50(inChannels, 8, ReturnLayers(auxHead), device), auxHead, device);

    /// <summary>torchvision's <c>fcn_resnet101(num_classes, aux_loss)</c>.</summary>
    public static FcnResNet ResNet101(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("fcn-resnet101", numClasses, inChannels, ResNet.ResNet101(inChannels, 8, ReturnLayers(auxHead), device), auxHead, device);

    internal static Dictionary<string, string> ReturnLayers(bool auxHead) =>
        auxHead ? new() { ["layer3"] = "aux", ["layer4"] = "out" } : new() { ["layer4"] = "out" };
}
