using PixelBox.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// DeepLabV3 (Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation", 2017) as
/// torchvision builds it, module for module: a dilated backbone (ResNet at output stride 8, or
/// MobileNetV3-Large at 16), a <see cref="DeepLabHead"/> (ASPP rates 12/24/36) on "out", optionally an
/// auxiliary <see cref="FcnHead"/> ("aux": ResNet layer3, MobileNetV3 feature 4); logits resized
/// bilinearly to the input. With 21 classes: 39,638,869 (ResNet-50; 42,004,074 with the auxiliary head),
/// 58,630,997 (ResNet-101), 11,025,477 (MobileNetV3-Large) parameters.
/// </summary>
public sealed class DeepLabV3 : SimpleSegmentationModel
{
    DeepLabV3(string name, int numClasses, int inChannels, Backbone backbone, bool auxHead, Device? device, long headChannels = 256)
        : base(name, numClasses, inChannels, backbone,
            DeepLabHead.Create(backbone["out"].Channels, numClasses, device: device, channels: headChannels),
            auxHead ? FcnHead.Create(backbone["aux"].Channels, numClasses, device) : null)
    {
    }

    /// <summary>A DeepLabV3 on any backbone returning "out" (and "aux" with the auxiliary head) with ASPP and head
    /// <paramref name="headChannels"/> wide (torchvision: 256): narrow configurations for tiny models and tests.</summary>
    public static DeepLabV3 Create(string name, Backbone backbone, int numClasses, int inChannels, long headChannels = 256, bool auxHead = false, Device? device = null) =>
        new(name, numClasses, inChannels, backbone, auxHead, device, headChannels);

    /// <summary>torchvision's <c>deeplabv3_resnet50(num_classes, aux_loss)</c>.</summary>
    public static DeepLabV3 ResNet50(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("deeplabv3-resnet50", numClasses, inChannels, ResNet.ResNet50(inChannels, 8, FcnResNet.ReturnLayers(auxHead), device), auxHead, device);

    /// <summary>torchvision's <c>deeplabv3_resnet101(num_classes, aux_loss)</c>.</summary>
    public static DeepLabV3 ResNet101(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("deeplabv3-resnet101", numClasses, inChannels, ResNet.ResNet101(inChannels, 8, FcnResNet.ReturnLayers(auxHead), device), auxHead, device);

    /// <summary>torchvision's <c>deeplabv3_mobilenet_v3_large(num_classes, aux_loss)</c>: dilated
    /// MobileNetV3-Large, "out" = feature 16 (960 channels), "aux" = feature 4 (40 channels).</summary>
    public static DeepLabV3 MobileNetV3Large(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null)
    {
        var returns = new Dictionary<int, string> { [16] = "out" };
        if (auxHead)
            returns[4] = "aux";
        return new("deeplabv3-mobilenet-v3-large", numClasses, inChannels, new Backbones.MobileNetV3Large(inChannels, dilated: true, returns, device), auxHead, device);
    }
}
