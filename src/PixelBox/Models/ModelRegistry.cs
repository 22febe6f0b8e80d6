using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>One model the toolkit can build by name.</summary>
/// <param name="Name">Registry key, e.g. "unet-same".</param>
/// <param name="Task">"segmentation" (detection models come later).</param>
/// <param name="Paper">Source paper.</param>
/// <param name="InputSizeRule">Which input sides the model takes and what comes out, in words.</param>
/// <param name="DefaultNumClasses">Classes of the paper's setting (listing default).</param>
/// <param name="DefaultInChannels">Input channels of the paper's setting (listing default).</param>
public sealed record ModelEntry(
    string Name,
    string Task,
    string Paper,
    string InputSizeRule,
    int DefaultNumClasses,
    int DefaultInChannels,
    Func<int, int, Device?, SegmentationModel> Factory)
{
    /// <summary>Output stride in DeepLab's sense: input side / side of the deepest feature map the
    /// prediction is made from (HRNet: its highest-resolution stream, which it keeps throughout).</summary>
    public int? OutputStride { get; init; }

    /// <summary>A freshly initialised model; pass <c>torch.META</c> as device to get shapes without memory.</summary>
    public SegmentationModel Create(int numClasses, int inChannels, Device? device = null) => Factory(numClasses, inChannels, device);
}

/// <summary>Every model by name: <c>ModelRegistry.Get("unet-same").Create(numClasses, 3)</c>.</summary>
public static class ModelRegistry
{
    const string UNetPaper = "Ronneberger, Fischer & Brox, MICCAI 2015";
    const string FcnPaper = "Long, Shelhamer & Darrell, CVPR 2015";
    const string FcnSizes = "any side; out = in";
    const string AnySize = "any side; out = in";
    const string DeepLabV3Paper = "Chen, Papandreou, Schroff & Adam, arXiv 2017";
    const string MobileNetV3Paper = "Howard et al., ICCV 2019";
    const string DeepLabV3PlusPaper = "Chen, Zhu, Papandreou, Schroff & Adam, ECCV 2018";
    const string PspNetPaper = "Zhao, Shi, Qi, Wang & Jia, CVPR 2017";
    const string HRNetPaper = "Wang et al., TPAMI 2020";

    public static IReadOnlyList<ModelEntry> All { get; } =
    [
        new("unet", "segmentation", UNetPaper,
            "side 16k+188; out = in-184 (572 -> 388)", 2, 1,
            (classes, channels, device) => UNet.Paper(channels, classes, device)) { OutputStride = 16 },
        new("unet-same", "segmentation", UNetPaper + ", same-padded + BatchNorm",
            "side 16k; out = in", 2, 3,
            (classes, channels, device) => UNet.Same(classes, channels, baseWidth: 32, depth: 5, batchNorm: true, device)) { OutputStride = 16 },
        new("fcn32s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn32s(classes, channels, device)) { OutputStride = 32 },
        new("fcn16s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn16s(classes, channels, device)) { OutputStride = 32 },
        new("fcn8s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn8s(classes, channels, device)) { OutputStride = 32 },
        new("segnet", "segmentation", "Badrinarayanan, Kendall & Cipolla, TPAMI 2017",
            "side >= 32; out = in", 21, 3,
            (classes, channels, device) => new SegNet(classes, channels, device)) { OutputStride = 32 },
        new("fcn-resnet50", "segmentation", FcnPaper, AnySize, 21, 3,
            (classes, channels, device) => FcnResNet.ResNet50(classes, channels, device: device)) { OutputStride = 8 },
        new("fcn-resnet101", "segmentation", FcnPaper, AnySize, 21, 3,
            (classes, channels, device) => FcnResNet.ResNet101(classes, channels, device: device)) { OutputStride = 8 },
        new("deeplabv3-resnet50", "segmentation", DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.ResNet50(classes, channels, device: device)) { OutputStride = 8 },
        new("deeplabv3-resnet101", "segmentation", DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.ResNet101(classes, channels, device: device)) { OutputStride = 8 },
        new("deeplabv3-mobilenet-v3-large", "segmentation", DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.MobileNetV3Large(classes, channels, device: device)) { OutputStride = 16 },
        new("lraspp-mobilenet-v3-large", "segmentation", MobileNetV3Paper, AnySize, 21, 3,
            (classes, channels, device) => LrAspp.MobileNetV3Large(classes, channels, device)) { OutputStride = 16 },
        new("deeplabv3plus-resnet50", "segmentation", DeepLabV3PlusPaper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3Plus.ResNet50(classes, channels, device: device)) { OutputStride = 16 },
        new("deeplabv3plus-resnet101", "segmentation", DeepLabV3PlusPaper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3Plus.ResNet101(classes, channels, device: device)) { OutputStride = 16 },
        new("pspnet-resnet50", "segmentation", PspNetPaper, AnySize, 21, 3,
            (classes, channels, device) => PspNet.ResNet50(classes, channels, device: device)) { OutputStride = 8 },
        new("pspnet-resnet101", "segmentation", PspNetPaper, AnySize, 21, 3,
            (classes, channels, device) => PspNet.ResNet101(classes, channels, device: device)) { OutputStride = 8 },
        new("hrnetv2-w18", "segmentation", HRNetPaper, AnySize, 19, 3,
            (classes, channels, device) => HRNetV2.W18(classes, channels, device)) { OutputStride = 4 },
        new("hrnetv2-w48", "segmentation", HRNetPaper, AnySize, 19, 3,
            (classes, channels, device) => HRNetV2.W48(classes, channels, device)) { OutputStride = 4 },
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>The entry called <paramref name="name"/>; an unknown name is a user error listing the known ones.</summary>
    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new InputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");
}
