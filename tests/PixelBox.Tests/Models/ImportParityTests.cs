using System.Text.Json.Nodes;
using PixelBox.Tests.Cli;
using PixelBox.Tests.Interop;
using Xunit.Abstractions;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>torchvision's LR-ASPP MobileNetV3-Large (random weights, calibrated BatchNorm, 5 classes; the smallest
/// torchvision segmentation model) and a random 243x181 RGB image (sides not multiples of 32), its logits for the
/// ImageNet-normalised image (make_zoo_references.py --image-input).</summary>
public sealed class SegmentationImportReferences() : PythonReferences(["--image-input"], "lraspp-mobilenet-v3-large");

/// <summary>torchvision's SSD300-VGG16 and SSDlite320 (4 classes + background, random weights, calibrated
/// BatchNorm, spread class logits) and their detections of a random image of the native input size.</summary>
public sealed class DetectionImportReferences() : PythonReferences("ssd300-vgg16", "ssdlite320-mobilenet-v3-large");

/// <summary>
/// The whole user path, `pixelbox import` then `pixelbox predict seg --save-logits`: the logits written to
/// the .npy file are PyTorch's (float tolerance), from a torch.save .pth and from a .safetensors file.
/// </summary>
[Collection(CliRunner.Collection)]
public class SegmentationImportParityTests(SegmentationImportReferences references, ITestOutputHelper log) : IClassFixture<SegmentationImportReferences>
{
    const string Case = "lraspp-mobilenet-v3-large";

    [PythonTorchTheory]
    [InlineData(".pth")]
    [InlineData(".safetensors")]
    public void Imported_model_predicts_pytorchs_logits(string format)
    {
        var folder = Path.GetDirectoryName(references.PathOf(Case))!;
        var work = Directory.CreateTempSubdirectory("pixelbox-import-seg-").FullName;
        try
        {
            var checkpoint = Path.Combine(work, "model.ckpt");
            var import = CliRunner.Run("import", "--arch", Case, "--weights", references.PathOf(Case + format), "--num-classes", "5", "--out", checkpoint);
            Assert.True(import.Code == 0, import.Err);
            var output = Path.Combine(work, "out");
            var predict = CliRunner.Run("predict", "seg", "--model", checkpoint, "--input", Path.Combine(folder, Case + ".png"), "--out", output,
                "--save-logits", "--precision", "fp32");
            Assert.True(predict.Code == 0, predict.Err);
            var (shape, values) = NpyFileTests.ReadFloat32(Path.Combine(output, Case + "_logits.npy"));
            Assert.Equal([5L, 181, 243], shape);
            var io = references.InputOutput(Case);
            try
            {
                using var logits = tensor(values, shape);
                using var expected = io["out"][0];
                ModelParity.AssertClose($"import {format} + predict seg --save-logits", logits, expected, log);
            }
            finally
            {
                foreach (var t in io.Values)
                    t.Dispose();
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}

/// <summary>
/// `pixelbox import` then `pixelbox predict det` reproduces torchvision's SSD300 / SSDlite detections (boxes,
/// scores, labels; float tolerance) from both weight formats. predictions.json carries torchvision's labels as
/// category ids. The image has the native input size, so both sides feed the same pixels; detections whose
/// scores sit within the tolerance of the last one kept (the detection limit's cut) may differ. torchvision
/// keeps boxes clipped to zero area, `predict det` drops them (nothing can match them): they are left out of
/// the reference before comparing.
/// </summary>
[Collection(CliRunner.Collection)]
public class DetectionImportParityTests(DetectionImportReferences references, ITestOutputHelper log) : IClassFixture<DetectionImportReferences>
{
    const float ScoreTolerance = 1e-4f;
    const float BoxTolerance = 1e-3f;

    readonly record struct Detection(float X1, float Y1, float X2, float Y2, float Score, long Label)
    {
        public float BoxDifference(Detection other) =>
            new[] { X1 - other.X1, Y1 - other.Y1, X2 - other.X2, Y2 - other.Y2 }.Max(Math.Abs);
    }

    [PythonTorchTheory]
    [InlineData("ssd300-vgg16", ".pth")]
    [InlineData("ssd300-vgg16", ".safetensors")]
    [InlineData("ssdlite320-mobilenet-v3-large", ".pth")]
    [InlineData("ssdlite320-mobilenet-v3-large", ".safetensors")]
    public void Imported_ssd_predicts_torchvisions_detections(string arch, string format)
    {
        var work = Directory.CreateTempSubdirectory("pixelbox-import-det-").FullName;
        try
        {
            var checkpoint = Path.Combine(work, "model.ckpt");
            var import = CliRunner.Run("import", "--arch", arch, "--weights", references.PathOf(arch + format), "--num-classes", "4", "--out", checkpoint);
            Assert.True(import.Code == 0, import.Err);
            var output = Path.Combine(work, "out");
            var predict = CliRunner.Run("predict", "det", "--model", checkpoint, "--input", references.PathOf(arch + ".png"), "--out", output, "--precision", "fp32");
            Assert.True(predict.Code == 0, predict.Err);

            var reference = JsonNode.Parse(File.ReadAllText(references.PathOf(arch + "_det.json")))!;
            var boxes = reference["boxes"]!.AsArray();
            var expected = boxes.Select((b, i) => new Detection((float)b![0]!, (float)b[1]!, (float)b[2]!, (float)b[3]!,
                (float)reference["scores"]![i]!, (long)reference["labels"]![i]!)).Where(d => d.X2 > d.X1 && d.Y2 > d.Y1).ToList();
            log.WriteLine($"{arch}: {boxes.Count} torchvision detections, {boxes.Count - expected.Count} of them without area");
            var actual = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "predictions.json")))!.AsArray().Select(d =>
            {
                var b = d!["bbox"]!.AsArray();
                float x = (float)b[0]!, y = (float)b[1]!;
                return new Detection(x, y, x + (float)b[2]!, y + (float)b[3]!, (float)d["score"]!, (long)d["category_id"]!);
            }).ToList();
            Compare(arch + format, expected, actual);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Every torchvision detection above the cut (+ tolerance) has one of ours with its label, score
    /// and box within tolerance, and ours as many in all; logs the largest differences.</summary>
    void Compare(string what, List<Detection> expected, List<Detection> actual)
    {
        Assert.True(expected.Count > 20, $"{what}: only {expected.Count} reference detections");
        Assert.True(expected.Select(d => d.Label).Distinct().Count() > 1, $"{what}: one label only");
        Assert.Equal(expected.Count, actual.Count);
        float cut = expected.Min(d => d.Score) + ScoreTolerance;
        var unmatched = new List<Detection>(actual);
        float maxBox = 0, maxScore = 0;
        int compared = 0;
        foreach (var e in expected.Where(d => d.Score > cut))
        {
            var candidates = unmatched.Where(a => a.Label == e.Label && Math.Abs(a.Score - e.Score) <= ScoreTolerance).ToList();
            Assert.True(candidates.Count > 0, $"{what}: torchvision's {e} has no counterpart");
            var best = candidates.MinBy(a => a.BoxDifference(e));
            Assert.True(best.BoxDifference(e) <= BoxTolerance, $"{what}: torchvision's {e}, nearest of ours {best}");
            unmatched.Remove(best);
            (maxBox, maxScore) = (Math.Max(maxBox, best.BoxDifference(e)), Math.Max(maxScore, Math.Abs(best.Score - e.Score)));
            compared++;
        }
        log.WriteLine($"{what}: {compared} of {expected.Count} detections compared (the rest at the cut), max |box diff| {maxBox:G3} px, max |score diff| {maxScore:G3}");
    }
}
