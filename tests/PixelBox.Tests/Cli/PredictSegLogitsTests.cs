using System.Text.Json.Nodes;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Masks;
using PixelBox.Tests.Interop;
using PixelBox.Tests.Models;
using PixelBox.Tests.Training;
using PixelBox.Training;
using Xunit.Abstractions;

namespace PixelBox.Tests.Cli;

/// <summary>`predict seg --save-logits`: &lt;stem&gt;_logits.npy at the image's size, whose arg-max is the mask (the
/// same mask as without the option), for a checkpoint and for its ONNX export; the logits files take part in the
/// output checks.</summary>
[Collection(CliRunner.Collection)]
public class PredictSegLogitsTests(ITestOutputHelper log)
{
    const int Classes = 5;

    static (string Dir, string Checkpoint, string Images) Setup()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", Classes, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(8, 3));
        var checkpoint = Path.Combine(dir, "best.ckpt");
        using (var model = info.CreateModel())
        {
            ReferenceWeights.Fill(model);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        }
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var random = new Random(5);
        foreach (var (stem, w, h) in new[] { ("wide", 37, 21), ("square", 32, 32) })
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(images, stem + ".png"), new RgbImage(w, h, pixels));
        }
        return (dir, checkpoint, images);
    }

    [Fact]
    public void Logits_are_written_at_the_image_size_and_their_argmax_is_the_mask()
    {
        var (dir, checkpoint, images) = Setup();
        var onnx = Path.Combine(dir, "model.onnx");
        Assert.Equal(0, CliApp.Run(["export", "onnx", "--model", checkpoint, "--out", onnx, "--dynamic-size"]));
        var logits = new Dictionary<string, float[]>();
        foreach (var (model, name) in new[] { (checkpoint, "torch"), (onnx, "onnx") })
        {
            var output = Path.Combine(dir, name);
            var extra = name == "torch" ? new[] { "--precision", "fp32" } : [];
            var run = CliRunner.Run(["predict", "seg", "--model", model, "--input", images, "--out", output, "--save-logits", "--threads", "1", .. extra]);
            Assert.True(run.Code == 0, run.Err);
            foreach (var image in Directory.GetFiles(images))
            {
                var stem = Path.GetFileNameWithoutExtension(image);
                var (shape, values) = NpyFileTests.ReadFloat32(Path.Combine(output, stem + "_logits.npy"));
                var mask = IndexMaskPng.Read(Path.Combine(output, stem + ".png"));
                Assert.Equal([Classes, mask.Height, mask.Width], shape);
                Assert.Equal(OnnxSegmentationPredictor.ArgMax(values, Classes, mask.Width * mask.Height), mask.Pixels);
                Assert.True(values.Max() - values.Min() > 1e-3f, "the logits vary");
                logits[$"{name}/{stem}"] = values;
            }
        }
        // the masks are those of a run without --save-logits
        var plain = Path.Combine(dir, "plain");
        Assert.Equal(0, CliRunner.Run("predict", "seg", "--model", checkpoint, "--input", images, "--out", plain, "--threads", "1", "--precision", "fp32").Code);
        Assert.False(File.Exists(Path.Combine(plain, "wide_logits.npy")));
        foreach (var stem in new[] { "wide", "square" })
            Assert.Equal(IndexMaskPng.Read(Path.Combine(plain, stem + ".png")).Pixels, IndexMaskPng.Read(Path.Combine(dir, "torch", stem + ".png")).Pixels);
        foreach (var stem in new[] { "wide", "square" })
        {
            var (torch, onnxLogits) = (logits[$"torch/{stem}"], logits[$"onnx/{stem}"]);
            var diff = torch.Zip(onnxLogits).Max(p => Math.Abs(p.First - p.Second));
            log.WriteLine($"{stem}: checkpoint vs ONNX logits, max |diff| {diff:G3}");
            Assert.True(diff < 1e-3f * Math.Max(1f, torch.Max(Math.Abs)), $"{stem}: {diff}");
        }
    }

    [Fact]
    public void A_logits_file_may_not_replace_an_input()
    {
        var (dir, checkpoint, images) = Setup();
        var output = Path.Combine(dir, "out");
        Directory.CreateDirectory(output);
        // the checkpoint, named as the logits of wide.png would be
        var renamed = Path.Combine(output, "wide_logits.npy");
        File.Copy(checkpoint, renamed);
        var run = CliRunner.Run("predict", "seg", "--model", renamed, "--input", Path.Combine(images, "wide.png"), "--out", output, "--save-logits");
        Assert.Equal(2, run.Code);
        Assert.StartsWith($"error: {renamed}:", run.Err.Trim());
        Assert.Contains("the checkpoint", run.Err);
        Assert.Equal(File.ReadAllBytes(checkpoint), File.ReadAllBytes(renamed));
        Assert.Equal(0, CliRunner.Run("predict", "seg", "--model", renamed, "--input", Path.Combine(images, "wide.png"), "--out", output).Code);
    }
}
