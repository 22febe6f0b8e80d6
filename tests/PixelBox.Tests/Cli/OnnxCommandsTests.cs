using System.Diagnostics;
using System.Text.Json.Nodes;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Onnx;
using PixelBox.Tests.Models;
using PixelBox.Tests.Onnx;
using PixelBox.Tests.Training;
using PixelBox.Training;
using Xunit.Abstractions;

namespace PixelBox.Tests.Cli;

/// <summary>`export onnx` and `predict seg --model MODEL.onnx`: files the checker accepts, masks equal to the
/// checkpoint's, and a prediction process that never loads libtorch.</summary>
[Collection(CliRunner.Collection)]
public class OnnxCommandsTests(ITestOutputHelper output)
{
    static readonly string CliDll = Path.Combine(AppContext.BaseDirectory, "PixelBox.Cli.dll");

    /// <summary>A unet-same checkpoint with reference weights (every layer matters), and images of odd sizes.</summary>
    static (string Dir, string Checkpoint, string Images) Setup()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", 5, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(8, 3));
        var checkpoint = Path.Combine(dir, "best.ckpt");
        using (var model = info.CreateModel())
        {
            ReferenceWeights.Fill(model);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        }
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var random = new Random(3);
        foreach (var (stem, w, h) in new[] { ("wide", 40, 24), ("odd", 17, 33), ("square", 32, 32) })
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(images, stem + ".png"), new RgbImage(w, h, pixels));
        }
        return (dir, checkpoint, images);
    }

    [Fact]
    public void Onnx_predictions_equal_the_checkpoints()
    {
        var (dir, checkpoint, images) = Setup();
        var model = Path.Combine(dir, "model.onnx");
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", model, "--dynamic-size"]));
        Assert.Equal(0, CliApp.Run(["predict", "seg", "--model", checkpoint, "--input", images, "--out", Path.Combine(dir, "torch"), "--precision", "fp32", "--threads", "1"]));
        Assert.Equal(0, CliApp.Run(["predict", "seg", "--model", model, "--input", images, "--out", Path.Combine(dir, "onnx"), "--threads", "1"]));
        foreach (var file in Directory.GetFiles(images))
        {
            var name = Path.GetFileName(file);
            var expected = IndexMaskPng.Read(Path.Combine(dir, "torch", name));
            var actual = IndexMaskPng.Read(Path.Combine(dir, "onnx", name));
            Assert.Equal((expected.Width, expected.Height), (actual.Width, actual.Height));
            int same = expected.Pixels.Zip(actual.Pixels).Count(p => p.First == p.Second);
            output.WriteLine($"{name}: {same} of {expected.Pixels.Length} pixels equal");
            // Float rounding may flip an exact tie between two classes, nothing more.
            Assert.True(same >= expected.Pixels.Length - 1, $"{name}: {expected.Pixels.Length - same} pixels differ");
        }

        // A static export: sizes the model cannot take are refused (unet-same of depth 3 takes multiples of 4); images
        // up to its size are padded into it; a larger one (odd.png is 33 high) is refused in one line.
        var fixedModel = Path.Combine(dir, "fixed.onnx");
        var (code, _, err) = CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", fixedModel, "--input-size", "32x42");
        Assert.Equal(2, code);
        Assert.Contains("--input-size", err);
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", fixedModel, "--input-size", "32x40", "--opset", "13"]));
        Assert.Equal(0, CliApp.Run(["predict", "seg", "--model", fixedModel, "--input", Path.Combine(images, "square.png"), "--out", Path.Combine(dir, "fixed-ok"), "--threads", "1"]));
        Assert.Equal(32 * 32, IndexMaskPng.Read(Path.Combine(dir, "fixed-ok", "square.png")).Pixels.Length);
        (code, _, err) = CliRunner.Run("predict", "seg", "--model", fixedModel, "--input", images, "--out", Path.Combine(dir, "fixed"));
        Assert.Equal(2, code);
        Assert.Contains("fixed 32x40", err);
    }

    /// <summary>A yolo checkpoint (3 classes, 64 px) with reference weights and two images of other shapes, in <paramref name="dir"/>/det.</summary>
    static (string Checkpoint, string Images) DetectionSetup(string dir)
    {
        var info = new DetectionModelInfo("yolo", 3, 3, ["a", "b", "c"], null, PixelBox.Models.Detection.Yolo.YoloV8.DefaultSettings(64) with { ScoreThreshold = 0.3 });
        var checkpoint = Path.Combine(dir, "det.ckpt");
        using (var detector = info.CreateModel())
        {
            ReferenceWeights.Fill(detector);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, detector, null);
        }
        var images = Directory.CreateDirectory(Path.Combine(dir, "det-images")).FullName;
        var random = new Random(5);
        foreach (var (stem, w, h) in new[] { ("wide", 90, 40), ("tall", 33, 71) })
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(images, stem + ".png"), new RgbImage(w, h, pixels));
        }
        return (checkpoint, images);
    }

    /// <summary>`export onnx` of a detection checkpoint and `predict det --model MODEL.onnx`: the predictions equal the
    /// checkpoint's float32 ones (same images, ids, classes; scores and boxes to float tolerance).</summary>
    [Fact]
    public void Onnx_detections_equal_the_checkpoints()
    {
        var dir = TinyTask.TempDir();
        var (checkpoint, images) = DetectionSetup(dir);
        var model = Path.Combine(dir, "det.onnx");
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", model]));
        var (code, _, err) = CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", Path.Combine(dir, "x.onnx"), "--input-size", "96");
        Assert.Equal(2, code);
        Assert.Contains("64x64", err);
        Assert.Equal(0, CliApp.Run(["predict", "det", "--model", checkpoint, "--input", images, "--out", Path.Combine(dir, "torch"), "--precision", "fp32", "--threads", "1"]));
        Assert.Equal(0, CliApp.Run(["predict", "det", "--model", model, "--input", images, "--out", Path.Combine(dir, "onnx"), "--threads", "1"]));
        var expected = PixelBox.Coco.CocoJson.ReadDetections(Path.Combine(dir, "torch", "predictions.json"), PixelBox.Coco.CocoIouType.Bbox);
        var actual = PixelBox.Coco.CocoJson.ReadDetections(Path.Combine(dir, "onnx", "predictions.json"), PixelBox.Coco.CocoIouType.Bbox);
        output.WriteLine($"{expected.Count} detections (checkpoint), {actual.Count} (ONNX Runtime)");
        Assert.True(expected.Count > 0, "no detections; the comparison would prove nothing");
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal((expected.ImageId[i], expected.CategoryId[i]), (actual.ImageId[i], actual.CategoryId[i]));
            Assert.True(Math.Abs(expected.Score[i] - actual.Score[i]) <= 1e-4, $"detection {i}: score {actual.Score[i]} vs {expected.Score[i]}");
            for (int k = 0; k < 4; k++)
                Assert.True(Math.Abs(expected.Box[4 * i + k] - actual.Box[4 * i + k]) <= 0.05, $"detection {i}: box {k} {actual.Box[4 * i + k]} vs {expected.Box[4 * i + k]}");
        }
        Assert.True(File.Exists(Path.Combine(dir, "onnx", "wide_boxes.png")));
        (code, _, err) = CliRunner.Run("predict", "det", "--model", model, "--input", images, "--out", Path.Combine(dir, "o"), "--precision", "bf16");
        Assert.Equal(2, code);
        Assert.Contains("--precision", err);
    }

    /// <summary>A model that cannot be exported as asked (OverFeat's pyramid needs a fixed size) is a one-line user error.</summary>
    [Fact]
    public void A_fixed_size_detector_refuses_dynamic_export_in_one_line()
    {
        var dir = TinyTask.TempDir();
        var layout = PixelBox.Models.Detection.OverFeat.OverFeatLayout.Cpu;
        var info = new DetectionModelInfo("overfeat", 2, 3, ["a", "b"], null, PixelBox.Models.Detection.OverFeat.OverFeatDetector.DefaultSettings(layout));
        var checkpoint = Path.Combine(dir, "overfeat.ckpt");
        using (var detector = info.CreateModel())
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, detector, null);
        var model = Path.Combine(dir, "overfeat.onnx");
        var (code, _, err) = CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", model, "--dynamic-size");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {checkpoint}: cannot export overfeat:", err.Trim());
        Assert.Contains("--dynamic-size", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(File.Exists(model));
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", model]));
    }

    [Fact]
    public void Export_refuses_bad_requests_in_one_line()
    {
        var (dir, checkpoint, images) = Setup();
        var model = Path.Combine(dir, "m.onnx");
        (int, string)[] cases =
        [
            (CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", model, "--opset", "12").Code, "opset"),
            (CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", checkpoint).Code, "checkpoint"),
            (CliRunner.Run("export", "onnx", "--model", Path.Combine(dir, "none.ckpt"), "--out", model).Code, "missing"),
            (CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", model, "--dynamic-size", "--input-size", "32").Code, "both"),
            (CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", model, "--input-size", "big").Code, "size"),
        ];
        Assert.All(cases, c => Assert.True(c.Item1 == 2, $"{c.Item2}: exit {c.Item1}"));
        Assert.True(File.Exists(checkpoint) && Checkpoint.Open(checkpoint) is not null, "the checkpoint survives");
        Assert.False(File.Exists(model));

        var notOnnx = Path.Combine(dir, "notes.onnx");
        File.WriteAllText(notOnnx, "not a model");
        var (code, _, err) = CliRunner.Run("predict", "seg", "--model", notOnnx, "--input", images, "--out", Path.Combine(dir, "o"));
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {notOnnx}:", err.Trim());
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", model, "--dynamic-size"]));
        (code, _, err) = CliRunner.Run("predict", "seg", "--model", model, "--input", images, "--out", Path.Combine(dir, "o"), "--precision", "bf16");
        Assert.Equal(2, code);
        Assert.Contains("--precision", err);
    }

    /// <summary>
    /// The dynamic loader's own log (LD_DEBUG) of a real CLI process: predicting with the ONNX model loads
    /// ONNX Runtime and never libtorch; predicting with the checkpoint loads libtorch (so the check can fail).
    /// </summary>
    [Fact]
    public void Predicting_with_an_onnx_model_never_loads_libtorch()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var (dir, checkpoint, images) = Setup();
        var model = Path.Combine(dir, "model.onnx");
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", model, "--dynamic-size"]));

        var (detCheckpoint, detImages) = DetectionSetup(dir);
        var detModel = Path.Combine(dir, "det.onnx");
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", detCheckpoint, "--out", detModel]));

        string LoadedLibraries(string modelPath, string outDir, string task = "seg")
        {
            var log = Path.Combine(dir, "ld-" + Path.GetFileName(outDir));
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { CliDll, "predict", task, "--model", modelPath, "--input", task == "seg" ? images : detImages, "--out", outDir, "--threads", "1" })
                info.ArgumentList.Add(a);
            info.Environment["LD_DEBUG"] = "files";
            info.Environment["LD_DEBUG_OUTPUT"] = log;
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {stderr}");
            // glibc writes one log per process: LOG.<pid>.
            return string.Join("\n", Directory.GetFiles(dir, Path.GetFileName(log) + ".*").Select(File.ReadAllText));
        }

        var onnxRun = LoadedLibraries(model, Path.Combine(dir, "onnx"));
        Assert.Contains("libonnxruntime.so", onnxRun);
        Assert.DoesNotContain("libtorch_cpu.so", onnxRun);
        Assert.DoesNotContain("libLibTorchSharp.so", onnxRun);
        var detRun = LoadedLibraries(detModel, Path.Combine(dir, "det-onnx"), "det");
        Assert.Contains("libonnxruntime.so", detRun);
        Assert.DoesNotContain("libtorch_cpu.so", detRun);
        Assert.DoesNotContain("libLibTorchSharp.so", detRun);
        var torchRun = LoadedLibraries(checkpoint, Path.Combine(dir, "torch"));
        Assert.Contains("libtorch_cpu.so", torchRun);
    }
}
