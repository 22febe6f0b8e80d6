using PixelBox.Models;
using PixelBox.Models.Detection.OverFeat;
using PixelBox.Models.Detection.Ssd;
using PixelBox.Models.Detection.Yolo;
using PixelBox.Models.Detection.YoloV1;
using PixelBox.Onnx;
using PixelBox.Tests.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace PixelBox.Tests.Onnx;

/// <summary>
/// Every registered detector's ONNX graph (up to its raw outputs) run by ONNX Runtime equals its libtorch forward
/// to float tolerance, and its libtorch-free decoder (<see cref="DetectionDecoders"/>) turns those outputs into the
/// detections the model's own <see cref="DetectionModel.Detect"/> gives; every export passes ONNX's checker.
/// </summary>
public class OnnxDetectionTests(ITestOutputHelper output)
{
    /// <summary>
    /// Largest |ONNX - exact| allowed, relative to the largest |value| of that output, where "exact" is the libtorch
    /// forward in float64: ONNX Runtime's float32 must be within this, or within twice libtorch's own float32 error
    /// (measured: ONNX Runtime 3e-7 to 4e-6 for every detector; libtorch float32 was 2e-2 off for YOLOv8-x before its
    /// 1x1 convolutions were kept NCHW, and is within 2e-5 of float64 since, OverFeat-fast's 1.6e-4 aside).
    /// </summary>
    const double Tolerance = 1e-4;

    /// <summary>
    /// A small configuration of each registered detector: its architecture and geometry (strides, grid, windows,
    /// pyramid, default boxes) with narrow layers, at its usual input size except YOLOv8 (96 instead of 640) and
    /// SSDlite (224 instead of 320).
    /// SSD300 keeps its only size, 300 x 300.
    /// </summary>
    public static DetectionModel Build(string name) => name switch
    {
        "yolo" or "yolo-n" or "yolo-s" or "yolo-m" or "yolo-l" or "yolo-x" => new YoloV8(NarrowYolo(name), 3, 3, YoloV8.DefaultSettings(96)),
        "ssd300-vgg16" => Ssd.Ssd300Vgg16(3, widthDivisor: 16),
        "ssdlite320-mobilenet-v3-large" => Ssd.SsdLite320MobileNetV3Large(3, settings: Ssd.SsdLite320Settings() with { InputSize = 224 }),
        "yolov1" => new YoloV1Detector(YoloV1Layout.Cpu, 3),
        "yolov1-paper" => new YoloV1Detector(YoloV1Layout.Paper with
        {
            Layers = [.. YoloV1Layout.Paper.Layers.Select(l => l with { Channels = l.Channels / 16 })],
            HiddenWidth = 64,
        }, 3),
        "overfeat" => new OverFeatDetector(OverFeatLayout.Cpu, 3),
        "overfeat-fast" => new OverFeatDetector(OverFeatLayout.Fast with
        {
            Features = [.. OverFeatLayout.Fast.Features.Select(l => l with { Channels = l.Channels / 16 })],
            ClassifierWidths = [48, 64],
            RegressorWidths = [64, 16],
        }, 3),
        _ => throw new ArgumentException($"no test configuration for {name}"),
    };

    /// <summary>The registered scale's depth with an eighth of its width.</summary>
    static YoloScale NarrowYolo(string name)
    {
        var scale = name == "yolo" ? YoloScale.N : YoloScale.All.Single(s => "yolo-" + s.Name == name);
        return scale with { Width = scale.Width / 8 };
    }

    public static TheoryData<string> DetectionModels => [.. ModelRegistry.NamesOf(ModelTasks.Detection)];

    [Theory]
    [MemberData(nameof(DetectionModels))]
    public void Raw_outputs_and_detections_equal_the_libtorch_forward(string name)
    {
        using var model = Build(name);
        FillForComparison(model);
        int size = model.Settings.InputSize;
        var path = OnnxTestExport.Write(model, model.InChannels, [], new OnnxExportOptions { Height = size, Width = size });
        using var session = OnnxRuntimeSession.Open(path, threads: 1);
        using var scope = NewDisposeScope();
        // Not the periodic reference pattern: on a periodic input distant windows score exactly alike, and NMS between
        // exact ties is order-dependent. A local generator keeps it deterministic.
        var input = randn([1, model.InChannels, size, size], generator: new Generator(20261202));
        Tensor[] expected;
        using (no_grad())
            expected = model.forward(input);
        var actual = session.Run(input.data<float>().ToArray(), input.shape);
        Assert.Equal(expected.Length, actual.Length);
        IReadOnlyList<ImageDetections> torchDetections;
        using (no_grad())
            torchDetections = model.Detect(input);

        Tensor[] exact;
        model.to(ScalarType.Float64);
        using (no_grad())
            exact = model.forward(input.to(ScalarType.Float64));
        double worst = 0, worstTorch = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].shape, actual[i].Shape);
            var reference = exact[i].contiguous();
            double error = (tensor(actual[i].Values).reshape(reference.shape).to(ScalarType.Float64) - reference).abs().max().item<double>();
            double torchError = (expected[i].to(ScalarType.Float64) - reference).abs().max().item<double>();
            double scale = reference.abs().max().item<double>();
            Assert.True(scale > 0.05, $"{name} output {i}: values nearly zero ({scale}); the test would prove nothing");
            Assert.True(error <= Math.Max(Tolerance * scale, 2 * torchError),
                $"{name} output {i} {string.Join("x", reference.shape)}: max error {error} > {Tolerance} x {scale} and > 2 x libtorch's {torchError}");
            worst = Math.Max(worst, error / scale);
            worstTorch = Math.Max(worstTorch, torchError / scale);
        }

        // Detections: ONNX Runtime's (decoded without libtorch) are those of the exact forward. libtorch's float32 ones
        // are reported, not asserted: its forward may be further from exact, enough to reorder near-equal random scores
        // and flip NMS decisions between them.
        var decoder = DetectionDecoders.For(name, model.NumClasses);
        var onnxDetections = decoder.Decode(actual, new ImageSize(size, size), model.Settings)[0].Detections;
        var exactDetections = model.Decoder.Decode([.. exact.Select(RawOutput.From)], new ImageSize(size, size), model.Settings)[0].Detections;
        var torchDetections32 = torchDetections[0].Detections;
        double matched = torchDetections32.Count == 0 ? 1 : (double)Matching(torchDetections32, onnxDetections, size) / torchDetections32.Count;
        int exactMatched = exactDetections.Count(e => HasPartner(e, onnxDetections, size));
        output.WriteLine($"{name}: {expected.Length} outputs, max error / max |value| against float64: ONNX Runtime {worst:E2}, libtorch float32 {worstTorch:E2}; " +
                         $"{exactDetections.Count} detections (exact), {onnxDetections.Count} (ONNX Runtime, {exactMatched} matched), {torchDetections32.Count} (libtorch float32, {matched:P1} matched)");
        Assert.True(exactDetections.Count > 0, $"{name}: no detections; the comparison would prove nothing");
        // Every detection of one has its counterpart in the other (0 unpaired for all but SSDlite), but for NMS ties
        // between near-equal random scores: SSDlite's reference-weight scores are nearly flat even with its classifier
        // spread (26 of 633 unpaired, i.e. 4%, at 3.6e-7 relative output error).
        int unpaired = exactDetections.Count(e => !HasPartner(e, onnxDetections, size)) + onnxDetections.Count(o => !HasPartner(o, exactDetections, size));
        int allowed = name.StartsWith("ssdlite", StringComparison.Ordinal) ? Math.Max(exactDetections.Count, onnxDetections.Count) / 10 : 0;
        Assert.True(unpaired <= allowed, $"{name}: {unpaired} detections without a counterpart (allowed {allowed})");
    }

    /// <summary>
    /// Reference weights, eval mode, and settings for comparing detections: no top-k or detection limit (a cut through
    /// thousands of near-equal random scores would be decided by rounding); score threshold 0.1 (the narrow YOLOv1
    /// paper configuration scores below it everywhere: 0.001).
    /// </summary>
    internal static void FillForComparison(DetectionModel model)
    {
        ReferenceWeights.Fill(model);
        if (model is Ssd)
            SpreadClassLogits(model);
        model.eval();
        model.Settings = model.Settings with
        {
            ScoreThreshold = model is YoloV1Detector { Layout.Name: "paper" } ? 0.001 : 0.1,
            CandidatesPerClass = 1_000_000,
            MaxDetections = 1_000_000,
        };
    }

    /// <summary>
    /// With reference weights SSD's class logits hardly vary between default boxes (SSDlite: every score
    /// 0.5068 +- 1e-5), so ranking, top-k and NMS would be decided by rounding. Larger classifier weights spread
    /// them as trained models do.
    /// </summary>
    static void SpreadClassLogits(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (key, parameter) in model.named_parameters())
            if (key.StartsWith("head.classification_head.", StringComparison.Ordinal) && key.EndsWith(".weight", StringComparison.Ordinal) && parameter.dim() == 4 && parameter.shape[1] > 1)
                parameter.mul_(30);
    }

    static bool HasPartner(DetectedObject d, IReadOnlyList<DetectedObject> others, int size) =>
        others.Any(o => o.Label == d.Label && Math.Abs(o.Score - d.Score) <= 1e-4 &&
                        new[] { o.X1 - d.X1, o.Y1 - d.Y1, o.X2 - d.X2, o.Y2 - d.Y2 }.Max(Math.Abs) <= 1e-3 * size);

    /// <summary>How many of <paramref name="wanted"/> have a distinct counterpart in <paramref name="found"/> (same label,
    /// score within <paramref name="scoreTolerance"/>, box within 0.1% of the input side), order aside.</summary>
    static int Matching(IReadOnlyList<DetectedObject> wanted, IReadOnlyList<DetectedObject> found, int size, double scoreTolerance = 1e-3)
    {
        var used = new bool[found.Count];
        int matches = 0;
        foreach (var w in wanted)
        {
            for (int j = 0; j < found.Count; j++)
            {
                var f = found[j];
                if (used[j] || f.Label != w.Label || Math.Abs(f.Score - w.Score) > scoreTolerance ||
                    new[] { f.X1 - w.X1, f.Y1 - w.Y1, f.X2 - w.X2, f.Y2 - w.Y2 }.Max(Math.Abs) > 1e-3 * size)
                    continue;
                used[j] = true;
                matches++;
                break;
            }
        }
        return matches;
    }

    [OnnxCheckerFact]
    public void Every_detector_export_passes_the_onnx_checker()
    {
        var dir = PixelBox.Tests.Training.TinyTask.TempDir();
        var paths = new List<string>();
        foreach (var name in ModelRegistry.NamesOf(ModelTasks.Detection))
        {
            using var model = Build(name);
            ReferenceWeights.Fill(model);
            int size = model.Settings.InputSize;
            // YOLOv8 and SSDlite take other sizes too: their dynamic export as well
            var exports = new List<(int Opset, bool Dynamic)> { (OnnxExport.MinOpset, false) };
            if (model is YoloV8 || name.StartsWith("ssdlite", StringComparison.Ordinal))
                exports.Add((OnnxExport.DefaultOpset, true));
            foreach (var (opset, dynamic) in exports)
            {
                var options = new OnnxExportOptions { Opset = opset, DynamicSize = dynamic, Height = size, Width = size };
                var path = Path.Combine(dir, $"{name}-opset{opset}{(dynamic ? "-dynamic" : "")}.onnx");
                OnnxExport.Write(OnnxExport.Build(model, name, model.InChannels, [], options), path);
                paths.Add(path);
            }
        }
        var results = OnnxChecker.Check([.. paths]);
        for (int i = 0; i < paths.Count; i++)
            output.WriteLine($"{Path.GetFileName(paths[i])}: {results[i] ?? "passes"}");
        Assert.All(results, r => Assert.Null(r));
    }

    [Theory]
    [InlineData("yolov1")]
    [InlineData("overfeat")]
    public void Fixed_size_detectors_refuse_a_dynamic_export(string name)
    {
        using var model = Build(name);
        var e = Assert.Throws<NotSupportedException>(() => OnnxExport.Build(model, name, model.InChannels, [], new OnnxExportOptions { DynamicSize = true }));
        Assert.Contains("--dynamic-size", e.Message);
    }
}
