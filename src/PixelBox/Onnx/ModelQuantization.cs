using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Onnx.Proto;

namespace PixelBox.Onnx;

/// <summary>What <c>quantize</c> wrote.</summary>
public sealed record QuantizationSummary(string Path, string Model, string Task, int QuantizedNodes, int FloatConvolutions, int Activations,
    int Images, CalibrationMethod Method, long FloatBytes, long Bytes);

/// <summary>
/// <c>pixelbox quantize</c>: an exported float model (<c>export onnx</c>) as a static int8 QDQ model
/// (<see cref="OnnxQuantizer"/>), its activations calibrated on images (<see cref="OnnxCalibration"/>); the
/// preprocessing metadata is kept, so <c>predict</c> takes the result as it takes the float model, and
/// <see cref="QuantizationKey"/> records how it was made.
/// </summary>
public static class ModelQuantization
{
    /// <summary>Metadata key of the quantisation description (JSON).</summary>
    public const string QuantizationKey = "pixelbox.quantization";

    public const int DefaultImages = 64;

    /// <param name="images">Calibration images used at most (evenly spaced through the folder's sorted images).</param>
    /// <param name="progress">Called after each image: pass name, images done, images in the pass.</param>
    public static QuantizationSummary Quantize(string modelPath, string calibrationDir, string outPath, CalibrationSettings settings,
        int images = DefaultImages, Action<string, int, int>? progress = null)
    {
        if (images < 1)
            throw new InputException("--images", $"must be at least 1 (got {images})");
        if (settings.Method == CalibrationMethod.Percentile && settings.Percentile is <= 50 or > 100)
            throw new InputException("--percentile", $"must be in (50, 100] (got {settings.Percentile})");
        InputFile.CheckRegular(modelPath);
        var target = OutputPaths.ResolveFile(outPath);
        if (string.Equals(target, Path.GetFullPath(modelPath), StringComparison.Ordinal))
            throw new InputException(outPath, "is the model being quantized (--model); choose another --out");
        var model = OnnxExport.Read(modelPath);
        var metadata = model.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
        var description = OnnxModelDescription.FromMetadata(metadata, modelPath);
        if (metadata.ContainsKey(QuantizationKey) || model.Graph.Node.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear"))
            throw new InputException(modelPath, "is already quantized; quantize the float model written by `export onnx`");
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < OnnxQuantizer.MinOpset)
            throw new InputException(modelPath, $"has opset {opset}; quantization needs {OnnxQuantizer.MinOpset} or later (export it with --opset {OnnxQuantizer.MinOpset} or more)");
        var plan = OnnxQuantizer.Plan(model);
        if (plan.Nodes.Count == 0)
            throw new InputException(modelPath, "has no Conv or Gemm node with constant weights to quantize");
        var calibration = CalibrationImages(calibrationDir, images);

        var ranges = OnnxCalibration.Ranges(model, Path.GetFullPath(modelPath), plan, calibration, settings, progress);
        var quantized = OnnxQuantizer.Quantize(model, plan, ranges, [new(QuantizationKey, Describe(settings, calibrationDir, calibration.Count, plan))]);
        OnnxExport.Write(quantized, target);
        int floatConvolutions = model.Graph.Node.Count(n => n.OpType is "Conv" or "ConvTranspose" or "Gemm") - plan.Nodes.Count;
        return new QuantizationSummary(target, description.ModelName, description.Task, plan.Nodes.Count, floatConvolutions, plan.Activations.Count,
            calibration.Count, settings.Method, new FileInfo(modelPath).Length, new FileInfo(target).Length);
    }

    /// <summary>Up to <paramref name="count"/> images of a folder, evenly spaced through its images sorted by name.</summary>
    public static IReadOnlyList<string> CalibrationImages(string folder, int count)
    {
        if (File.Exists(folder))
            throw new InputException(folder, "is a file; --calibration takes a folder of images");
        if (!Directory.Exists(folder))
            throw new InputException(folder, "no such folder");
        List<string> images;
        try
        {
            images = [.. Directory.EnumerateFiles(folder)
                .Where(f => MaskFolderDataset.ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(folder, $"cannot list the folder ({e.Message})");
        }
        if (images.Count == 0)
            throw new InputException(folder, $"holds no images ({string.Join(", ", MaskFolderDataset.ImageExtensions)}) to calibrate on");
        var chosen = images.Count <= count
            ? images
            : [.. Enumerable.Range(0, count).Select(i => images[(int)((long)i * images.Count / count)])];
        foreach (var image in chosen)
            InputFile.CheckRegular(image);
        return chosen;
    }

    static string Describe(CalibrationSettings settings, string folder, int images, QuantizationPlan plan)
    {
        var description = new JsonObject
        {
            ["format"] = "QDQ",
            ["precision"] = "int8",
            ["weights"] = "int8 symmetric per output channel",
            ["activations"] = "uint8 asymmetric per tensor",
            ["method"] = settings.Method.ToString().ToLowerInvariant(),
            ["calibration_images"] = images,
            ["calibration_folder"] = Path.GetFullPath(folder),
            ["quantized_nodes"] = plan.Nodes.Count,
        };
        if (settings.Method == CalibrationMethod.Percentile)
            description["percentile"] = settings.Percentile;
        return description.ToJsonString();
    }
}
