using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Models.Detection.Ssd;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Interop;

/// <summary>What to import: a PyTorch state dict into the registry model <paramref name="Arch"/>.</summary>
/// <param name="Arch">Registry name (<see cref="ModelRegistry"/>), e.g. "deeplabv3-resnet50" or "ssd300-vgg16".</param>
/// <param name="WeightsPath">torch.save zip file (.pth/.pt) or .safetensors.</param>
/// <param name="NumClasses">PixelBox's class count: segmentation classes, or detection object classes
/// (without torchvision's background class: its num_classes 91 is 90 here).</param>
/// <param name="OutPath">Checkpoint to write.</param>
/// <param name="Strict">Refuse a state dict that does not fit exactly (else load what fits).</param>
/// <param name="Normalization">Input normalisation; null for the architecture's default (ImageNet's for
/// segmentation, the detector's own, e.g. SSD300's Caffe mean).</param>
/// <param name="Task">Task the caller expects (<see cref="ModelTasks"/>), or null for the architecture's.</param>
public sealed record ImportRequest(
    string Arch,
    string WeightsPath,
    int NumClasses,
    string OutPath,
    bool Strict = true,
    Normalization? Normalization = null,
    string? Task = null);

/// <summary>What an import did: the model's task, the state-dict report and the checkpoint written.
/// <paramref name="Hint"/> says which --num-classes the file fits, when the only problem is the class count.</summary>
public sealed record ImportResult(string Task, StateDictReport Report, string? Hint, string CheckpointPath);

/// <summary>
/// <c>pixelbox import</c>: a PyTorch state dict (torchvision's key names) into a PixelBox checkpoint that
/// <c>predict seg</c> / <c>predict det</c> run. The checkpoint describes the model as training would: registry
/// name, classes, 3 input channels, and the pre/post-processing defaults of the architecture (ImageNet
/// normalisation for segmentation unless told otherwise; a detector's torchvision settings, e.g. SSD300's
/// 300 x 300 stretch, Caffe mean, NMS 0.45, 200 detections). SSD's results carry torchvision's labels as
/// category ids (label + 1), which for torchvision's COCO weights are COCO's category ids.
/// </summary>
public static class ModelImport
{
    /// <summary>
    /// Reads the state dict, matches it against a fresh model and shows the report (<paramref name="showReport"/>,
    /// before anything is decided); strict with a mismatch is an <see cref="InputException"/> naming the weights
    /// file (nothing written); otherwise copies what fits and writes the checkpoint atomically.
    /// </summary>
    public static ImportResult Run(ImportRequest request, Action<StateDictReport, string?>? showReport = null)
    {
        ModelEntry entry;
        try
        {
            entry = ModelRegistry.Get(request.Arch);
        }
        catch (InputException e)
        {
            throw new InputException("--arch", e.Message);
        }
        if (request.Task is { } task && task != entry.Task)
            throw new InputException("--task", $"model '{entry.Name}' is a {entry.Task} model, not a {task} model " +
                                     $"(the {task} models: {string.Join(", ", ModelRegistry.NamesOf(task))})");
        if (request.NumClasses is < 1 or > ModelLimits.MaxClasses)
            throw new InputException($"--num-classes must be in [1, {ModelLimits.MaxClasses}] (got {request.NumClasses})");
        CheckNormalization(request.Normalization);
        new OutputPlan().Input(request.WeightsPath, "the weights (--weights)").Output(request.OutPath, "the checkpoint (--out)").Check();

        var state = StateDictLoader.Read(request.WeightsPath);
        try
        {
            using var model = Create(entry, request.NumClasses, device: null);
            var report = StateDictLoader.Match(model.state_dict(), state, mapName: null, out var pairs);
            var hint = (report.IsExact ? null : FittingNumClasses(entry, request.NumClasses, report, state)) is { } k
                ? $"the file fits --num-classes {k}" + (model is Ssd ? $" (torchvision's num_classes {k + 1} counts the background)" : "")
                : null;
            showReport?.Invoke(report, hint);
            if (report.Loaded.Count == 0)
                throw new InputException(request.WeightsPath,
                    $"no entry of the state dict fits {entry.Name} with {request.NumClasses} classes ({Counts(report)}): a state dict of another architecture?");
            if (request.Strict && !report.IsExact)
                throw new InputException(request.WeightsPath,
                    $"state dict does not fit {entry.Name} with {request.NumClasses} classes ({Counts(report)}){(hint is null ? "" : "; " + hint)}; nothing written (--non-strict loads what fits)");
            using (no_grad())
                foreach (var (from, into) in pairs)
                {
                    using var reshaped = from.reshape(into.shape);
                    into.copy_(reshaped);
                }
            model.eval();
            var content = new JsonObject
            {
                ["model"] = Describe(entry, model, request),
                ["imported"] = new JsonObject
                {
                    ["weights"] = Path.GetFullPath(request.WeightsPath),
                    ["strict"] = request.Strict,
                    ["report"] = report.Summary(),
                },
            };
            Checkpoint.Write(request.OutPath, content, model, optimizer: null);
            return new ImportResult(entry.Task, report, hint, request.OutPath);
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    static string Counts(StateDictReport report) =>
        $"{report.Missing.Count} missing, {report.Unexpected.Count} unexpected, {report.WrongShapes.Count} of wrong shape, {report.Loaded.Count} fit";

    /// <summary>ImageNet's statistics: torchvision's segmentation models are trained with them.</summary>
    public static Normalization DefaultSegmentationNormalization => Normalization.ImageNet;

    static void CheckNormalization(Normalization? normalization)
    {
        if (normalization is null)
            return;
        if (normalization.Mean.Length != 3 || !normalization.Mean.All(float.IsFinite))
            throw new InputException("--mean", "needs 3 finite numbers (R, G, B)");
        if (normalization.Std.Length != 3 || !normalization.Std.All(v => float.IsFinite(v) && v > 0))
            throw new InputException("--std", "needs 3 positive numbers (R, G, B)");
    }

    static nn.Module Create(ModelEntry entry, int numClasses, Device? device) =>
        entry.Task == ModelTasks.Detection
            ? entry.CreateDetection(numClasses, 3, settings: null, device)
            : entry.CreateSegmentation(numClasses, 3, device);

    /// <summary>The "model" header of the checkpoint: what predict seg / det rebuild and feed the model from.</summary>
    static JsonObject Describe(ModelEntry entry, nn.Module model, ImportRequest request)
    {
        var names = Enumerable.Range(0, request.NumClasses).Select(i => $"class{i}").ToList();
        if (model is DetectionModel detector)
        {
            var settings = request.Normalization is null ? detector.Settings : detector.Settings with { Normalization = request.Normalization };
            // torchvision's SSD labels are PixelBox's + 1 (background first): results keep torchvision's numbering.
            IReadOnlyList<long>? categoryIds = model is Ssd ? [.. Enumerable.Range(1, request.NumClasses).Select(i => (long)i)] : null;
            return new DetectionModelInfo(entry.Name, request.NumClasses, 3, names, categoryIds, settings).ToJson();
        }
        return new SegmentationModelInfo(entry.Name, request.NumClasses, 3, names,
            request.Normalization ?? DefaultSegmentationNormalization, IgnoreIndex: 255).ToJson();
    }

    /// <summary>
    /// When the file differs from the model only in the shapes that depend on the class count: the count it
    /// fits. Each class-dependent size is linear in the count (a * classes + b, from models of 1 and 2 classes
    /// built without memory); the count solving it for the first mismatch is checked against the whole file.
    /// </summary>
    static int? FittingNumClasses(ModelEntry entry, int numClasses, StateDictReport report, IReadOnlyDictionary<string, Tensor> state)
    {
        if (report.WrongShapes.Count == 0 || report.Missing.Count > 0 || report.Unexpected.Count > 0)
            return null;
        var wrong = report.WrongShapes[0];
        long[] one, two;
        using (var model1 = Create(entry, 1, META))
        using (var model2 = Create(entry, 2, META))
        {
            if (!model1.state_dict().TryGetValue(wrong.Name, out var t1) || !model2.state_dict().TryGetValue(wrong.Name, out var t2))
                return null;
            (one, two) = (t1.shape, t2.shape);
        }
        if (one.Length != wrong.FileShape.Length || two.Length != one.Length)
            return null;
        for (int d = 0; d < one.Length; d++)
        {
            long slope = two[d] - one[d];
            if (slope <= 0)
                continue;
            long offset = one[d] - slope;
            long rest = wrong.FileShape[d] - offset;
            if (rest % slope != 0 || rest / slope is < 1 or > ModelLimits.MaxClasses || rest / slope == numClasses)
                return null;
            int candidate = (int)(rest / slope);
            using var model = Create(entry, candidate, META);
            return StateDictLoader.Match(model.state_dict(), state, null, out _).IsExact ? candidate : null;
        }
        return null;
    }
}
