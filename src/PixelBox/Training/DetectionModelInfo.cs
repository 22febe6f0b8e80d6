using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Models;

namespace PixelBox.Training;

/// <summary>
/// What a detection checkpoint must say so that a model can be rebuilt, fed and its detections written
/// without the training data: the "model" part of the checkpoint header.
/// </summary>
/// <param name="Name">Registry name (<see cref="ModelRegistry"/>).</param>
/// <param name="NumClasses">Object classes (labels 0..NumClasses-1, no background class).</param>
/// <param name="InChannels">Input channels.</param>
/// <param name="ClassNames">Name of each label.</param>
/// <param name="CategoryIds">COCO category id of each label when the training data had ids (COCO, Shapes);
/// null when it had none (VOC, YOLO txt), and results then use the label itself.</param>
/// <param name="Settings">Pre- and post-processing (input size, resize, normalisation, thresholds, NMS).</param>
public sealed record DetectionModelInfo(
    string Name,
    int NumClasses,
    int InChannels,
    IReadOnlyList<string> ClassNames,
    IReadOnlyList<long>? CategoryIds,
    DetectionSettings Settings)
{
    /// <summary>A freshly initialised model of this description.</summary>
    public DetectionModel CreateModel() => ModelRegistry.Get(Name).CreateDetection(NumClasses, InChannels, Settings);

    /// <summary>The COCO category id results give label <paramref name="label"/>.</summary>
    public long CategoryOf(int label) => CategoryIds is null ? label : CategoryIds[label];

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, TrainingOptions.Json)!.AsObject();

    /// <summary>Reads and checks the "model" part of a detection checkpoint.</summary>
    public static DetectionModelInfo FromCheckpoint(Checkpoint checkpoint)
    {
        DetectionModelInfo? info;
        try
        {
            info = checkpoint.Model.Deserialize<DetectionModelInfo>(TrainingOptions.Json);
        }
        catch (JsonException e)
        {
            throw new InputException(checkpoint.Path, $"not a detection checkpoint ({e.Message})");
        }
        if (info is null || string.IsNullOrEmpty(info.Name) || info.ClassNames is null || info.Settings?.Normalization is null)
            throw new InputException(checkpoint.Path, "not a detection checkpoint (model name, class names or settings missing)");
        if (info.NumClasses < 1 || info.ClassNames.Count != info.NumClasses || info.InChannels < 1
            || info.CategoryIds is not null && info.CategoryIds.Count != info.NumClasses)
            throw new InputException(checkpoint.Path,
                $"inconsistent model description ({info.NumClasses} classes, {info.ClassNames.Count} class names, " +
                $"{info.CategoryIds?.Count.ToString() ?? "no"} category ids, {info.InChannels} input channels)");
        try
        {
            info.Settings.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InputException(checkpoint.Path, $"bad detection settings: {e.Message}");
        }
        return info;
    }
}
