using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Models.Segmentation;

namespace PixelBox.Training;

/// <summary>
/// What a segmentation checkpoint must say so that a model can be rebuilt and fed without the training
/// data: the "model" part of the checkpoint header.
/// </summary>
/// <param name="Name">Registry name (<see cref="ModelRegistry"/>).</param>
/// <param name="NumClasses">Output classes (labels 0..NumClasses-1).</param>
/// <param name="InChannels">Input channels.</param>
/// <param name="ClassNames">Name of each label.</param>
/// <param name="Normalization">Input normalisation used in training.</param>
/// <param name="IgnoreIndex">Mask label excluded from loss and metrics.</param>
/// <param name="Size">Width and depth of a scalable model (unet-same); null for the registry's default.</param>
public sealed record SegmentationModelInfo(
    string Name,
    int NumClasses,
    int InChannels,
    IReadOnlyList<string> ClassNames,
    Normalization Normalization,
    int IgnoreIndex,
    ModelSize? Size = null)
{
    /// <summary>A freshly initialised model of this description.</summary>
    public SegmentationModel CreateModel()
    {
        if (Size is null)
            return ModelRegistry.Get(Name).CreateSegmentation(NumClasses, InChannels);
        // The registry builds default sizes only; until it takes size options, the one scalable model is built here.
        if (Name != "unet-same")
            throw new InputException($"model '{Name}' has no size options (only unet-same takes a width and depth)");
        if (ModelLimits.UNetSizeProblem(Size.BaseWidth, Size.Depth) is { } problem)
            throw new InputException($"unet-same: {problem}");
        return UNet.Same(NumClasses, InChannels, Size.BaseWidth, Size.Depth, batchNorm: true);
    }

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, TrainingOptions.Json)!.AsObject();

    /// <summary>Reads and checks the "model" part of a segmentation checkpoint.</summary>
    public static SegmentationModelInfo FromCheckpoint(Checkpoint checkpoint)
    {
        SegmentationModelInfo? info;
        try
        {
            info = checkpoint.Model.Deserialize<SegmentationModelInfo>(TrainingOptions.Json);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            // ArgumentException: a value the records refuse, e.g. a normalisation with a zero standard deviation.
            throw new InputException(checkpoint.Path, $"not a segmentation checkpoint ({e.Message.Split('\n')[0]})");
        }
        if (info is null || string.IsNullOrEmpty(info.Name) || info.ClassNames is null || info.Normalization is null
            || info.Normalization.Mean is null || info.Normalization.Std is null)
            throw new InputException(checkpoint.Path, "not a segmentation checkpoint (model name, class names or normalisation missing)");
        if (info.NumClasses is < 1 or > ModelLimits.MaxClasses || info.ClassNames.Count != info.NumClasses
            || info.InChannels is < 1 or > ModelLimits.MaxInChannels || info.ClassNames.Any(n => n is null))
            throw new InputException(checkpoint.Path,
                $"inconsistent model description ({info.NumClasses} classes, {info.ClassNames.Count} class names, {info.InChannels} input channels)");
        var (mean, std) = (info.Normalization.Mean, info.Normalization.Std);
        if (mean.Length != 3 || std.Length != 3 || !mean.All(float.IsFinite) || !std.All(v => v > 0 && float.IsFinite(v)))
            throw new InputException(checkpoint.Path,
                "inconsistent model description (normalisation needs 3 finite means and 3 positive stds, for R, G and B)");
        if (info.IgnoreIndex is < 0 or > 255)
            throw new InputException(checkpoint.Path, $"inconsistent model description (ignore index {info.IgnoreIndex} is not a byte label)");
        return info;
    }
}

/// <summary>Size of a U-Net: channels of the first level (doubling per level) and number of levels.</summary>
public sealed record ModelSize(int BaseWidth, int Depth);
