using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Training;

namespace PixelBox.Onnx;

/// <summary>
/// The input sides a model takes, as an arithmetic progression: <see cref="First"/>, First + Step, ...;
/// each maps to an output side of input - <see cref="Shrink"/> (0 for models whose output is the input size,
/// 184 for the paper's U-Net).
/// </summary>
public sealed record InputSizeRule(int First, int Step, int Shrink)
{
    const int Search = 4096;

    public bool Accepts(int side) => side >= First && (side - First) % Step == 0;

    /// <summary>The smallest accepted side that is at least <paramref name="side"/>.</summary>
    public int AtLeast(int side) => side <= First ? First : First + (side - First + Step - 1) / Step * Step;

    /// <summary>The rule of a segmentation model, read off its <see cref="SegmentationModel.OutputSize"/>.</summary>
    public static InputSizeRule Of(SegmentationModel model)
    {
        int? first = null;
        for (int side = 1; side <= Search; side++)
        {
            int output = TryOutput(model, side);
            if (output < 0)
                continue;
            if (first is null)
            {
                first = side;
                continue;
            }
            var rule = new InputSizeRule(first.Value, side - first.Value, first.Value - TryOutput(model, first.Value));
            if (output != side - rule.Shrink || TryOutput(model, side + rule.Step) != side + rule.Step - rule.Shrink)
                throw new NotSupportedException($"{model.GetName()}: valid input sides are not an arithmetic progression with a constant shrink");
            return rule;
        }
        throw new NotSupportedException($"{model.GetName()} takes fewer than two input sides up to {Search}");
    }

    static int TryOutput(SegmentationModel model, int side)
    {
        try { return model.OutputSize(side); }
        catch (ArgumentException) { return -1; }
    }
}

/// <summary>
/// What an exported model needs besides its graph, stored in the ONNX file's metadata_props: task, model
/// name, the PixelBox model description (class names, normalisation, detection settings: the "model" object
/// of its checkpoint, verbatim), the input size and the rule of valid sizes. Flat keys repeat the
/// preprocessing for other consumers of the file: <c>task</c>, <c>model</c>, <c>class_names</c>,
/// <c>normalization</c> ((byte / 255 - mean) / std per RGB channel), <c>input_size</c>, <c>resize</c>,
/// <c>detection_settings</c>.
/// </summary>
public sealed record OnnxModelDescription(string Task, string ModelName, JsonObject ModelInfo, bool DynamicSize, int Height, int Width, InputSizeRule SizeRule)
{
    public const string VersionKey = "pixelbox.metadata_version";
    public const string ModelInfoKey = "pixelbox.model_info";
    public const string SizeRuleKey = "pixelbox.input_sizes";
    const string Version = "1";

    static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    public SegmentationModelInfo Segmentation(string source) =>
        Task == ModelTasks.Segmentation
            ? Parse<SegmentationModelInfo>(source)
            : throw new InputException(source, $"is a {Task} model, not a segmentation model");

    public T Parse<T>(string source) where T : class
    {
        try
        {
            return ModelInfo.Deserialize<T>(TrainingOptions.Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new InputException(source, $"bad PixelBox model description in the ONNX metadata ({e.Message})");
        }
    }

    public IReadOnlyList<KeyValuePair<string, string>> ToMetadata(IReadOnlyList<string> classNames, Normalization normalization, string resize, JsonNode? detectionSettings)
    {
        var entries = new List<KeyValuePair<string, string>>
        {
            new(VersionKey, Version),
            new("task", Task),
            new("model", ModelName),
            new("class_names", new JsonArray([.. classNames.Select(n => (JsonNode?)JsonValue.Create(n))]).ToJsonString(Compact)),
            new("normalization", new JsonObject
            {
                ["mean"] = new JsonArray([.. normalization.Mean.Select(v => (JsonNode?)JsonValue.Create(v))]),
                ["std"] = new JsonArray([.. normalization.Std.Select(v => (JsonNode?)JsonValue.Create(v))]),
            }.ToJsonString(Compact)),
            new("input_size", DynamicSize ? "dynamic" : $"{Height}x{Width}"),
            new("resize", resize),
            new(SizeRuleKey, JsonSerializer.Serialize(SizeRule, TrainingOptions.Json)),
            new(ModelInfoKey, ModelInfo.ToJsonString(Compact)),
        };
        if (detectionSettings is not null)
            entries.Add(new("detection_settings", detectionSettings.ToJsonString(Compact)));
        return entries;
    }

    /// <summary>Reads the description back; a file without it was not written by PixelBox.</summary>
    public static OnnxModelDescription FromMetadata(IReadOnlyDictionary<string, string> metadata, string source)
    {
        string Get(string key) => metadata.TryGetValue(key, out var value)
            ? value
            : throw new InputException(source, $"ONNX model has no '{key}' metadata (export it with `pixelbox export onnx`)");
        if (Get(VersionKey) != Version)
            throw new InputException(source, $"unsupported PixelBox ONNX metadata version {Get(VersionKey)} (this build reads {Version})");
        try
        {
            var info = JsonNode.Parse(Get(ModelInfoKey)) as JsonObject ?? throw new JsonException("model description is not an object");
            var rule = JsonSerializer.Deserialize<InputSizeRule>(Get(SizeRuleKey), TrainingOptions.Json) ?? throw new JsonException("no size rule");
            var size = Get("input_size");
            bool dynamic = size == "dynamic";
            int height = 0, width = 0;
            if (!dynamic)
            {
                var parts = size.Split('x');
                if (parts.Length != 2 || !int.TryParse(parts[0], out height) || !int.TryParse(parts[1], out width) || height < 1 || width < 1)
                    throw new JsonException($"input_size '{size}' is neither HxW nor dynamic");
            }
            if (rule.First < 1 || rule.Step < 1 || rule.Shrink < 0)
                throw new JsonException($"bad input size rule {rule}");
            return new OnnxModelDescription(Get("task"), Get("model"), info, dynamic, height, width, rule);
        }
        catch (JsonException e)
        {
            throw new InputException(source, $"bad PixelBox metadata in the ONNX model ({e.Message})");
        }
    }
}
