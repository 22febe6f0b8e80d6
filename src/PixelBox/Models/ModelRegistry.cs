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
    /// <summary>A freshly initialised model; pass <c>torch.META</c> as device to get shapes without memory.</summary>
    public SegmentationModel Create(int numClasses, int inChannels, Device? device = null) => Factory(numClasses, inChannels, device);
}

/// <summary>Every model by name: <c>ModelRegistry.Get("unet-same").Create(numClasses, 3)</c>.</summary>
public static class ModelRegistry
{
    const string UNetPaper = "Ronneberger, Fischer & Brox, MICCAI 2015";
    const string FcnPaper = "Long, Shelhamer & Darrell, CVPR 2015";
    const string FcnSizes = "any side; out = in";

    public static IReadOnlyList<ModelEntry> All { get; } =
    [
        new("unet", "segmentation", UNetPaper,
            "side 16k+188; out = in-184 (572 -> 388)", 2, 1,
            (classes, channels, device) => UNet.Paper(channels, classes, device)),
        new("unet-same", "segmentation", UNetPaper + ", same-padded + BatchNorm",
            "side 16k; out = in", 2, 3,
            (classes, channels, device) => UNet.Same(classes, channels, baseWidth: 32, depth: 5, batchNorm: true, device)),
        new("fcn32s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn32s(classes, channels, device)),
        new("fcn16s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn16s(classes, channels, device)),
        new("fcn8s", "segmentation", FcnPaper, FcnSizes, 21, 3,
            (classes, channels, device) => Fcn.Fcn8s(classes, channels, device)),
    ];

    public static IEnumerable<string> Names => All.Select(e => e.Name);

    /// <summary>The entry called <paramref name="name"/>; an unknown name is a user error listing the known ones.</summary>
    public static ModelEntry Get(string name) =>
        All.FirstOrDefault(e => e.Name == name)
        ?? throw new InputException($"unknown model '{name}' (known: {string.Join(", ", Names)})");
}
