using PixelBox.Models.Detection.OverFeat;
using PixelBox.Models.Detection.Ssd;
using PixelBox.Models.Detection.Yolo;
using PixelBox.Models.Detection.YoloV1;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>The tasks a registered model serves (the "task" of <c>pixelbox models</c>).</summary>
public static class ModelTasks
{
    public const string Segmentation = "segmentation";
    public const string Detection = "detection";
}

/// <summary>One model the toolkit can build by name.</summary>
/// <param name="Name">Registry key, e.g. "unet-same".</param>
/// <param name="Task"><see cref="ModelTasks.Segmentation"/> (a <see cref="SegmentationModel"/>) or
/// <see cref="ModelTasks.Detection"/> (a <see cref="DetectionModel"/>).</param>
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
    Func<int, int, Device?, nn.Module> Factory)
{
    /// <summary>Output stride in DeepLab's sense: input side / side of the deepest feature map the
    /// prediction is made from (HRNet: its highest-resolution stream, which it keeps throughout).</summary>
    public int? OutputStride { get; init; }

    /// <summary>
    /// Whether inference runs faster with channels-last (NHWC) weights and activations than NCHW on oneDNN,
    /// as measured for this architecture (<c>bench inference</c>); predictors use it unless told otherwise.
    /// Off for the ResNet models: oneDNN 3.7.1 ends the process (SIGFPE in its 1x1 convolution setup) on their
    /// channels-last strided 1x1 shortcuts.
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>A freshly initialised model; pass <c>torch.META</c> as device to get shapes without memory.</summary>
    public nn.Module Create(int numClasses, int inChannels, Device? device = null) => Factory(numClasses, inChannels, device);

    /// <summary>A freshly initialised segmentation model; a user error when this entry is another task's.</summary>
    public SegmentationModel CreateSegmentation(int numClasses, int inChannels, Device? device = null) =>
        Task == ModelTasks.Segmentation
            ? (SegmentationModel)Create(numClasses, inChannels, device)
            : throw new InputException($"model '{Name}' is a {Task} model, not a segmentation model");

    /// <summary>
    /// Builds a detection model with given pre/post-processing (the input size may shape the initialisation,
    /// e.g. YOLO's class-prior biases); entries of other tasks leave it null.
    /// </summary>
    public Func<int, int, DetectionSettings?, Device?, DetectionModel>? DetectionFactory { get; init; }

    /// <summary>A freshly initialised detection model with <paramref name="settings"/> (null: the model's
    /// defaults); a user error when this entry is another task's.</summary>
    public DetectionModel CreateDetection(int numClasses, int inChannels, DetectionSettings? settings = null, Device? device = null)
    {
        if (Task != ModelTasks.Detection)
            throw new InputException($"model '{Name}' is a {Task} model, not a detection model");
        if (DetectionFactory is not null)
            return DetectionFactory(numClasses, inChannels, settings, device);
        var model = (DetectionModel)Create(numClasses, inChannels, device);
        if (settings is not null)
            model.Settings = settings;
        return model;
    }

    /// <summary>An entry of a detection model built by <paramref name="factory"/> (settings null: its defaults).</summary>
    public static ModelEntry Detection(string name, string paper, string inputSizeRule, int defaultNumClasses, int defaultInChannels,
        Func<int, int, DetectionSettings?, Device?, DetectionModel> factory) =>
        new(name, ModelTasks.Detection, paper, inputSizeRule, defaultNumClasses, defaultInChannels,
            (classes, channels, device) => factory(classes, channels, null, device))
        {
            DetectionFactory = factory,
        };
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
    const string YoloPaper = "YOLOv8, Jocher, Chaurasia & Qiu (ultralytics) 2023; task-aligned assignment: Feng et al., ICCV 2021";
    const string YoloSizes = "sides 32k (default 640, letterboxed); out: boxes";

    const string SsdPaper = "Liu et al., ECCV 2016 (SSD)";
    const string SsdLitePaper = "Sandler et al., CVPR 2018 (SSDlite); Howard et al., ICCV 2019 (MobileNetV3)";

    const string OverFeatPaper = "Sermanet et al., ICLR 2014 (OverFeat)";
    const string YoloV1Paper = "Redmon, Divvala, Girshick & Farhadi, CVPR 2016 (YOLOv1)";

    static ModelEntry Yolo(string name, YoloScale scale) =>
        ModelEntry.Detection(name, YoloPaper + $" (size {scale.Name})", YoloSizes, 80, 3,
            (classes, channels, settings, device) => new YoloV8(scale, classes, channels, settings, device));

    public static IReadOnlyList<ModelEntry> All { get; } =
    [
        new("unet", ModelTasks.Segmentation, UNetPaper,
            "side 16k+188; out = in-184 (572 -> 388)", 2, 1,
            (classes, channels, device) => UNet.Paper(channels, classes, device)) { OutputStride = 16 },
        new("unet-same", ModelTasks.Segmentation, UNetPaper + ", same-padded + BatchNorm",
            "side 16k; out = in", 2, 3,
            (classes, channels, device) => UNet.Same(classes, channels, baseWidth: 32, depth: 5, batchNorm: true, device)) { OutputStride = 16 },
        new("fcn32s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn32s(classes, channels, device)) { OutputStride = 32 },
        new("fcn16s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn16s(classes, channels, device)) { OutputStride = 32 },
        new("fcn8s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn8s(classes, channels, device)) { OutputStride = 32 },
        new("segnet", ModelTasks.Segmentation, "Badrinarayanan, Kendall & Cipolla, TPAMI 2017",
            "side >= 32; out = in", 21, 3,
            (classes, channels, device) => new SegNet(classes, channels, device)) { OutputStride = 32 },
        new("fcn-resnet50", ModelTasks.Segmentation, FcnPaper, AnySize, 21, 3,
            (classes, channels, device) => FcnResNet.ResNet50(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("fcn-resnet101", ModelTasks.Segmentation, FcnPaper, AnySize, 21, 3,
            (classes, channels, device) => FcnResNet.ResNet101(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("deeplabv3-resnet50", ModelTasks.Segmentation, DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.ResNet50(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("deeplabv3-resnet101", ModelTasks.Segmentation, DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.ResNet101(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("deeplabv3-mobilenet-v3-large", ModelTasks.Segmentation, DeepLabV3Paper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3.MobileNetV3Large(classes, channels, device: device)) { OutputStride = 16 },
        new("lraspp-mobilenet-v3-large", ModelTasks.Segmentation, MobileNetV3Paper, AnySize, 21, 3,
            (classes, channels, device) => LrAspp.MobileNetV3Large(classes, channels, device)) { OutputStride = 16 },
        new("deeplabv3plus-resnet50", ModelTasks.Segmentation, DeepLabV3PlusPaper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3Plus.ResNet50(classes, channels, device: device)) { OutputStride = 16, ChannelsLast = false },
        new("deeplabv3plus-resnet101", ModelTasks.Segmentation, DeepLabV3PlusPaper, AnySize, 21, 3,
            (classes, channels, device) => DeepLabV3Plus.ResNet101(classes, channels, device: device)) { OutputStride = 16, ChannelsLast = false },
        new("pspnet-resnet50", ModelTasks.Segmentation, PspNetPaper, AnySize, 21, 3,
            (classes, channels, device) => PspNet.ResNet50(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("pspnet-resnet101", ModelTasks.Segmentation, PspNetPaper, AnySize, 21, 3,
            (classes, channels, device) => PspNet.ResNet101(classes, channels, device: device)) { OutputStride = 8, ChannelsLast = false },
        new("hrnetv2-w18", ModelTasks.Segmentation, HRNetPaper, AnySize, 19, 3,
            (classes, channels, device) => HRNetV2.W18(classes, channels, device)) { OutputStride = 4 },
        new("hrnetv2-w48", ModelTasks.Segmentation, HRNetPaper, AnySize, 19, 3,
            (classes, channels, device) => HRNetV2.W48(classes, channels, device)) { OutputStride = 4 },
        Yolo("yolo", YoloScale.N),
        .. YoloScale.All.Select(scale => Yolo("yolo-" + scale.Name, scale)),
        ModelEntry.Detection("overfeat", OverFeatPaper + ", CPU-sized layout",
            "64x64 native (any side >= 64), stretched; 32-px windows every 8 px on a 5-image pyramid", 4, 3,
            (classes, channels, settings, device) => new OverFeatDetector(OverFeatLayout.Cpu, classes, channels, settings, device)),
        ModelEntry.Detection("overfeat-fast", OverFeatPaper + ", the \"fast\" model (Table 1)",
            "461x461 native, stretched; 231-px windows every 32 px on the paper's 6-image pyramid", 200, 3,
            (classes, channels, settings, device) => new OverFeatDetector(OverFeatLayout.Fast, classes, channels, settings, device)),
        ModelEntry.Detection("yolov1", YoloV1Paper + ", CPU-sized backbone",
            "112x112 (fixed: 7x7 grid, fully connected head), stretched", 20, 3,
            (classes, channels, settings, device) => new YoloV1Detector(YoloV1Layout.Cpu, classes, channels, settings, device)),
        ModelEntry.Detection("yolov1-paper", YoloV1Paper + ", the 24-convolution network (Fig. 3)",
            "448x448 (fixed: 7x7 grid, fully connected head), stretched", 20, 3,
            (classes, channels, settings, device) => new YoloV1Detector(YoloV1Layout.Paper, classes, channels, settings, device)),
        ModelEntry.Detection("ssd300-vgg16", SsdPaper + "; torchvision ssd300_vgg16",
            "300x300 (fixed), stretched; 8,732 default boxes; classes + background", 90, 3,
            (classes, channels, settings, device) => Ssd.Ssd300Vgg16(classes, channels, settings, device)),
        ModelEntry.Detection("ssdlite320-mobilenet-v3-large", SsdLitePaper + "; torchvision ssdlite320_mobilenet_v3_large",
            "320x320 native (any side), stretched; 2,034 default boxes at 320; classes + background", 90, 3,
            (classes, channels, settings, device) => Ssd.SsdLite320MobileNetV3Large(classes, channels, settings, device)),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>Names of the models of one task (<see cref="ModelTasks"/>).</summary>
    public static IEnumerable<string> NamesOf(string task) => All.Where(e => e.Task == task).Select(e => e.Name);

    /// <summary>The entry called <paramref name="name"/>; an unknown name is a user error listing the known ones.</summary>
    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new InputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");
}
