using System.Text.Json.Nodes;
using PixelBox.Models;
using PixelBox.Training;

namespace PixelBox.Onnx;

/// <summary>What <c>export onnx</c> wrote.</summary>
public sealed record OnnxExportSummary(string Path, string Task, string Model, bool DynamicSize, int Height, int Width,
    int Opset, int Nodes, int Initializers, long Bytes, IReadOnlyList<string> Outputs);

/// <summary>
/// Writes a checkpoint's model as an ONNX file: the registry model rebuilt with the checkpoint's weights, its
/// forward written by the model itself (segmentation: logits "logits" [N, classes, H', W']; detection: the raw
/// head outputs "output0", "output1", ... that the model's decoder reads), and the preprocessing in the
/// metadata (<see cref="OnnxModelDescription"/>).
/// </summary>
public static class CheckpointExport
{
    /// <summary>Input side of a static segmentation export when neither the user nor the checkpoint's training data says.</summary>
    public const int DefaultSegmentationSide = 512;

    /// <param name="height">Input height of a static export (null: the model's usual size).</param>
    /// <param name="width">Input width of a static export (null: as the height).</param>
    public static OnnxExportSummary Export(string checkpointPath, string outPath, int opset = OnnxExport.DefaultOpset,
        bool dynamicSize = false, int? height = null, int? width = null)
    {
        if (opset is < OnnxExport.MinOpset or > OnnxExport.MaxOpset)
            throw new InputException("--opset", $"must be in [{OnnxExport.MinOpset}, {OnnxExport.MaxOpset}] (got {opset})");
        var checkpoint = Checkpoint.Open(checkpointPath);
        var target = OutputPaths.ResolveFile(outPath);
        if (string.Equals(target, checkpoint.Path, StringComparison.Ordinal))
            throw new InputException(outPath, "is the checkpoint being exported; choose another --out");
        var name = (string?)checkpoint.Model["name"] ?? throw new InputException(checkpoint.Path, "checkpoint names no model");
        var entry = ModelRegistry.Get(name);
        IDisposable model;
        Proto.ModelProto proto;
        OnnxModelDescription description;
        try
        {
            (model, proto, description) = entry.Task switch
            {
                ModelTasks.Segmentation => Segmentation(checkpoint, opset, dynamicSize, height, width),
                ModelTasks.Detection => Detection(checkpoint, opset, dynamicSize, height, width),
                _ => throw new InputException(checkpoint.Path, $"export of {entry.Task} models is not supported"),
            };
        }
        catch (NotSupportedException e)
        {
            // a graph the model cannot write for this request (e.g. a fixed-size model asked for --dynamic-size)
            throw new InputException(checkpoint.Path, $"cannot export {name}: {e.Message}");
        }
        using (model)
            OnnxExport.Write(proto, target);
        return new OnnxExportSummary(target, description.Task, description.ModelName, description.DynamicSize, description.Height,
            description.Width, opset, proto.Graph.Node.Count, proto.Graph.Initializer.Count, new FileInfo(target).Length,
            [.. proto.Graph.Output.Select(o => o.Name)]);
    }

    static (IDisposable, Proto.ModelProto, OnnxModelDescription) Segmentation(Checkpoint checkpoint, int opset, bool dynamicSize, int? height, int? width)
    {
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        SegmentationModel model;
        try
        {
            model = info.CreateModel();
        }
        catch (InputException e)
        {
            throw new InputException(checkpoint.Path, e.Message);
        }
        try
        {
            checkpoint.LoadModel(model);
            var rule = InputSizeRule.Of(model);
            int h = 0, w = 0;
            if (!dynamicSize)
            {
                int usual = UsualSegmentationSide(checkpoint.Header["task"]);
                h = height is { } givenH ? Accepted(givenH, rule, info.Name) : rule.AtLeast(usual);
                w = width is { } givenW ? Accepted(givenW, rule, info.Name) : height is not null ? h : rule.AtLeast(usual);
            }
            var description = new OnnxModelDescription(ModelTasks.Segmentation, info.Name, info.ToJson(), dynamicSize, h, w, rule);
            var options = new OnnxExportOptions
            {
                Opset = opset,
                DynamicSize = dynamicSize,
                Height = h,
                Width = w,
                Metadata = description.ToMetadata(info.ClassNames, info.Normalization, "pad", null),
            };
            return (model, OnnxExport.Build(model, info.Name, info.InChannels, ["logits"], options), description);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static (IDisposable, Proto.ModelProto, OnnxModelDescription) Detection(Checkpoint checkpoint, int opset, bool dynamicSize, int? height, int? width)
    {
        var info = DetectionModelInfo.FromCheckpoint(checkpoint);
        DetectionModel model;
        try
        {
            model = info.CreateModel();
        }
        catch (Exception e) when (e is InputException or ArgumentException)
        {
            throw new InputException(checkpoint.Path, e.Message);
        }
        try
        {
            checkpoint.LoadModel(model);
            int size = info.Settings.InputSize;
            if (!dynamicSize && ((height ?? size) != size || (width ?? height ?? size) != size))
                throw new InputException("--input-size", $"{info.Name} resizes every image to {size}x{size} (its detection settings); export at that size or with --dynamic-size");
            // Letterboxing YOLO takes any multiple of its largest stride; the others are described by their one size.
            var rule = model is Models.Detection.Yolo.YoloV8 ? new InputSizeRule(32, 32, 0) : new InputSizeRule(size, 1, 0);
            var description = new OnnxModelDescription(ModelTasks.Detection, info.Name, info.ToJson(), dynamicSize, dynamicSize ? 0 : size, dynamicSize ? 0 : size, rule);
            var options = new OnnxExportOptions
            {
                Opset = opset,
                DynamicSize = dynamicSize,
                Height = size,
                Width = size,
                Metadata = description.ToMetadata(info.ClassNames, info.Settings.Normalization, info.Settings.Resize.ToString().ToLowerInvariant(),
                    System.Text.Json.JsonSerializer.SerializeToNode(info.Settings, TrainingOptions.Json)),
            };
            return (model, OnnxExport.Build(model, info.Name, info.InChannels, [], options), description);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The training crop; for whole-image training the largest side of the training images (when the
    /// dataset is still where it was, looking at up to 64 of them), else <see cref="DefaultSegmentationSide"/>.</summary>
    static int UsualSegmentationSide(JsonNode? task)
    {
        int crop = (int?)task?["crop_size"] ?? 0;
        if (crop > 0)
            return crop;
        var images = Path.Combine((string?)task?["data_root"] ?? "", "images");
        if (!Directory.Exists(images))
            return DefaultSegmentationSide;
        int side = 0;
        foreach (var file in Directory.EnumerateFiles(images).Order(StringComparer.Ordinal).Take(64))
        {
            try
            {
                var (w, h) = Imaging.RgbImageFile.ReadSize(file);
                side = Math.Max(side, Math.Max(w, h));
            }
            catch (InputException)
            {
                // not an image: the dataset's own checks report it where it matters
            }
        }
        return side > 0 ? side : DefaultSegmentationSide;
    }

    static int Accepted(int side, InputSizeRule rule, string model) =>
        rule.Accepts(side)
            ? side
            : throw new InputException("--input-size", $"{model} cannot take a side of {side} (sides {rule.First} + {rule.Step}k); the next it takes is {rule.AtLeast(side)}");
}
