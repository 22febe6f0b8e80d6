using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Onnx;
using PixelBox.Tests.Models;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

/// <summary>`pixelbox quantize`: a model `predict seg` takes unchanged, and one-line errors (exit 2) for bad input.</summary>
[Collection(CliRunner.Collection)]
public class QuantizeCommandTests
{
    /// <summary>A float unet-same ONNX export (reference weights, 24 x 24) and a folder of two images.</summary>
    static (string Dir, string Model, string Images) Setup()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", 5, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(8, 3));
        var checkpoint = Path.Combine(dir, "best.ckpt");
        using (var model = info.CreateModel())
        {
            ReferenceWeights.Fill(model);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        }
        var onnx = Path.Combine(dir, "model.onnx");
        CheckpointExport.Export(checkpoint, onnx, height: 24);
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var random = new Random(4);
        foreach (var stem in new[] { "a", "b" })
        {
            var pixels = new byte[20 * 24 * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(images, stem + ".png"), new RgbImage(20, 24, pixels));
        }
        return (dir, onnx, images);
    }

    [Fact]
    public void Quantized_model_is_taken_by_predict_seg()
    {
        var (dir, model, images) = Setup();
        var int8 = Path.Combine(dir, "model.int8.onnx");
        var (code, stdout, err) = CliRunner.Run("quantize", "--model", model, "--calibration", images, "--out", int8, "--method", "entropy", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Contains("int8", stdout);
        (code, _, err) = CliRunner.Run("predict", "seg", "--model", int8, "--input", images, "--out", Path.Combine(dir, "masks"), "--threads", "1");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(dir, "masks", "a.png")));
    }

    [Fact]
    public void Bad_input_is_one_line_and_exit_code_2()
    {
        var (dir, model, images) = Setup();
        var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
        var notOnnx = Path.Combine(dir, "notes.onnx");
        File.WriteAllText(notOnnx, "not a model");
        var foreign = Path.Combine(dir, "foreign.onnx");
        var stripped = OnnxExport.Read(model);
        stripped.MetadataProps.Clear();
        OnnxExport.Write(stripped, foreign);
        var int8 = Path.Combine(dir, "model.int8.onnx");
        Assert.Equal(0, CliRunner.Run("quantize", "--model", model, "--calibration", images, "--out", int8, "--threads", "1").Code);
        var cases = new (string[] Args, string Expected)[]
        {
            (["--model", notOnnx, "--calibration", images, "--out", Path.Combine(dir, "x.onnx")], "not an ONNX model"),
            (["--model", foreign, "--calibration", images, "--out", Path.Combine(dir, "x.onnx")], "export onnx"),
            (["--model", model, "--calibration", empty, "--out", Path.Combine(dir, "x.onnx")], "holds no images"),
            (["--model", model, "--calibration", Path.Combine(dir, "missing"), "--out", Path.Combine(dir, "x.onnx")], "no such folder"),
            (["--model", model, "--calibration", images, "--out", model], "choose another --out"),
            (["--model", int8, "--calibration", images, "--out", Path.Combine(dir, "x.onnx")], "already quantized"),
            (["--model", model, "--calibration", images, "--out", Path.Combine(dir, "x.onnx"), "--percentile", "99"], "--method percentile"),
        };
        foreach (var (args, expected) in cases)
        {
            var (code, _, err) = CliRunner.Run(["quantize", .. args]);
            Assert.Equal(2, code);
            var lines = err.Trim().Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0]);
            Assert.Contains(expected, lines[0]);
        }
        Assert.False(File.Exists(Path.Combine(dir, "x.onnx")));
    }
}
