using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Models;

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
public sealed record SegmentationModelInfo(
    string Name,
    int NumClasses,
    int InChannels,
    IReadOnlyList<string> ClassNames,
    Normalization Normalization,
    int IgnoreIndex)
{
    public SegmentationModel CreateModel() => ModelRegistry.Get(Name).Create(NumClasses, InChannels);

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, TrainingOptions.Json)!.AsObject();

    /// <summary>Reads and checks the "model" part of a segmentation checkpoint.</summary>
    public static SegmentationModelInfo FromCheckpoint(Checkpoint checkpoint)
    {
        SegmentationModelInfo? info;
        try
        {
            info = checkpoint.Model.Deserialize<SegmentationModelInfo>(TrainingOptions.Json);
        }
        catch (JsonException e)
        {
            throw new InputException(checkpoint.Path, $"not a segmentation checkpoint ({e.Message})");
        }
        if (info is null || string.IsNullOrEmpty(info.Name) || info.ClassNames is null || info.Normalization is null)
            throw new InputException(checkpoint.Path, "not a segmentation checkpoint (model name, class names or normalisation missing)");
        if (info.NumClasses < 1 || info.ClassNames.Count != info.NumClasses || info.InChannels < 1)
            throw new InputException(checkpoint.Path,
                $"inconsistent model description ({info.NumClasses} classes, {info.ClassNames.Count} class names, {info.InChannels} input channels)");
        return info;
    }
}
