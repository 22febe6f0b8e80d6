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
    /// <summary>
    /// Whether inference runs faster with channels-last (NHWC) weights and activations than NCHW on oneDNN,
    /// as measured for this architecture (<c>bench inference</c>); predictors use it unless told otherwise.
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>A freshly initialised model; pass <c>torch.META</c> as device to get shapes without memory.</summary>
    public nn.Module Create(int numClasses, int inChannels, Device? device = null) => Factory(numClasses, inChannels, device);

    /// <summary>A freshly initialised segmentation model; a user error when this entry is another task's.</summary>
    public SegmentationModel CreateSegmentation(int numClasses, int inChannels, Device? device = null) =>
        Task == ModelTasks.Segmentation
            ? (SegmentationModel)Create(numClasses, inChannels, device)
            : throw new InputException($"model '{Name}' is a {Task} model, not a segmentation model");

    /// <summary>A freshly initialised detection model; a user error when this entry is another task's.</summary>
    public DetectionModel CreateDetection(int numClasses, int inChannels, Device? device = null) =>
        Task == ModelTasks.Detection
            ? (DetectionModel)Create(numClasses, inChannels, device)
            : throw new InputException($"model '{Name}' is a {Task} model, not a detection model");
}

/// <summary>Every model by name: <c>ModelRegistry.Get("unet-same").Create(numClasses, 3)</c>.</summary>
public static class ModelRegistry
{
    const string UNetPaper = "Ronneberger, Fischer & Brox, MICCAI 2015";
    const string FcnPaper = "Long, Shelhamer & Darrell, CVPR 2015";
    const string FcnSizes = "any side; out = in";

    public static IReadOnlyList<ModelEntry> All { get; } =
    [
        new("unet", ModelTasks.Segmentation, UNetPaper,
            "side 16k+188; out = in-184 (572 -> 388)", 2, 1,
            (classes, channels, device) => UNet.Paper(channels, classes, device)),
        new("unet-same", ModelTasks.Segmentation, UNetPaper + ", same-padded + BatchNorm",
            "side 16k; out = in", 2, 3,
            (classes, channels, device) => UNet.Same(classes, channels, baseWidth: 32, depth: 5, batchNorm: true, device)),
        new("fcn32s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn32s(classes, channels, device)),
        new("fcn16s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn16s(classes, channels, device)),
        new("fcn8s", ModelTasks.Segmentation, FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn8s(classes, channels, device)),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>Names of the models of one task (<see cref="ModelTasks"/>).</summary>
    public static IEnumerable<string> NamesOf(string task) => All.Where(e => e.Task == task).Select(e => e.Name);

    /// <summary>The entry called <paramref name="name"/>; an unknown name is a user error listing the known ones.</summary>
    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new InputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");
}
