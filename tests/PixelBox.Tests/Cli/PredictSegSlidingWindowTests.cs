using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Masks;
using PixelBox.Tests.Interop;
using PixelBox.Tests.Models;
using PixelBox.Tests.Training;
using PixelBox.Training;
using PixelBox.Visualization;

namespace PixelBox.Tests.Cli;

/// <summary>`predict seg --tile/--overlap/--stride/--blend/--tile-margin/--tta/--scales/--save-probs`: the files
/// written, their agreement with each other and with the plain pass, and one-line errors for bad values.</summary>
[Collection(CliRunner.Collection)]
public class PredictSegSlidingWindowTests
{
    const int Classes = 5;

    static (string Dir, string Checkpoint, string Images) Setup()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", Classes, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(4, 3));
        var checkpoint = Path.Combine(dir, "best.ckpt");
        using (var model = info.CreateModel())
        {
            ReferenceWeights.Fill(model);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        }
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var random = new Random(11);
        foreach (var (stem, w, h) in new[] { ("large", 70, 45), ("small", 20, 12) })
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(images, stem + ".png"), new RgbImage(w, h, pixels));
        }
        return (dir, checkpoint, images);
    }

    static (int Code, string Out, string Err) Predict(string checkpoint, string input, string output, params string[] extra) =>
        CliRunner.Run(["predict", "seg", "--model", checkpoint, "--input", input, "--out", output, "--threads", "1", "--precision", "fp32", .. extra]);

    [Fact]
    public void Tiles_with_TTA_write_masks_overlays_logits_and_probability_maps_that_agree()
    {
        var (dir, checkpoint, images) = Setup();
        var output = Path.Combine(dir, "tiled");
        var run = Predict(checkpoint, images, output, "--tile", "32", "--overlap", "0.25", "--blend", "linear",
                          "--tta", "hflip,vflip", "--scales", "0.75,1", "--save-logits", "--save-probs");
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("tiles 32, stride 24, linear; TTA 8 passes", run.Out);
        foreach (var file in Directory.GetFiles(images))
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            var image = RgbImageFile.Read(file);
            var mask = IndexMaskPng.Read(Path.Combine(output, stem + ".png"));
            Assert.Equal((image.Width, image.Height), (mask.Width, mask.Height));
            var (shape, logits) = NpyFileTests.ReadFloat32(Path.Combine(output, stem + "_logits.npy"));
            Assert.Equal([Classes, image.Height, image.Width], shape);
            Assert.Equal(OnnxSegmentationPredictor.ArgMax(logits, Classes, image.Width * image.Height), mask.Pixels);
            Assert.Equal(SegmentationOverlay.ImageAndBlend(image, mask).Pixels, RgbImageFile.Read(Path.Combine(output, stem + "_overlay.png")).Pixels);

            var probs = Enumerable.Range(0, Classes).Select(k => RgbImageFile.Read(Path.Combine(output, $"{stem}_prob_{k}.png"))).ToList();
            int plane = image.Width * image.Height;
            for (int i = 0; i < plane; i++)
            {
                var expected = Softmax(Enumerable.Range(0, Classes).Select(k => logits[k * plane + i]).ToArray());
                for (int k = 0; k < Classes; k++)
                    Assert.InRange(probs[k].Pixels[3 * i], Math.Round(255 * expected[k]) - 1, Math.Round(255 * expected[k]) + 1);
            }
        }
        Assert.Equal(2 * (3 + Classes), Directory.GetFiles(output).Length);
    }

    static double[] Softmax(float[] logits)
    {
        var exp = logits.Select(l => Math.Exp(l - logits.Max())).ToArray();
        return [.. exp.Select(e => e / exp.Sum())];
    }

    [Fact]
    public void A_tile_larger_than_the_images_gives_the_plain_pass_bit_for_bit()
    {
        var (dir, checkpoint, images) = Setup();
        Assert.Equal(0, Predict(checkpoint, images, Path.Combine(dir, "plain"), "--save-logits").Code);
        Assert.Equal(0, Predict(checkpoint, images, Path.Combine(dir, "tile"), "--save-logits", "--tile", "96").Code);
        foreach (var name in new[] { "large.png", "large_overlay.png", "large_logits.npy", "small.png", "small_logits.npy" })
        {
            var (plain, tiled) = (Path.Combine(dir, "plain", name), Path.Combine(dir, "tile", name));
            if (name.EndsWith(".npy"))
                Assert.Equal(File.ReadAllBytes(plain), File.ReadAllBytes(tiled));
            else if (name.Contains("overlay"))
                Assert.Equal(RgbImageFile.Read(plain).Pixels, RgbImageFile.Read(tiled).Pixels);
            else
                Assert.Equal(IndexMaskPng.Read(plain).Pixels, IndexMaskPng.Read(tiled).Pixels);
        }
    }

    [Fact]
    public void An_onnx_model_tiles_as_its_checkpoint_does()
    {
        var (dir, checkpoint, images) = Setup();
        var onnx = Path.Combine(dir, "model.onnx");
        Assert.Equal(0, CliRunner.Run("export", "onnx", "--model", checkpoint, "--out", onnx, "--dynamic-size").Code);
        string[] options = ["--tile", "32", "--stride", "20", "--tta", "hflip", "--save-logits"];
        Assert.Equal(0, Predict(checkpoint, images, Path.Combine(dir, "torch"), options).Code);
        var run = CliRunner.Run(["predict", "seg", "--model", onnx, "--input", images, "--out", Path.Combine(dir, "onnx"), "--threads", "1", .. options]);
        Assert.True(run.Code == 0, run.Err);
        var (_, torch) = NpyFileTests.ReadFloat32(Path.Combine(dir, "torch", "large_logits.npy"));
        var (_, fromOnnx) = NpyFileTests.ReadFloat32(Path.Combine(dir, "onnx", "large_logits.npy"));
        Assert.True(torch.Zip(fromOnnx).Max(p => Math.Abs(p.First - p.Second)) < 1e-3f * Math.Max(1f, torch.Max(Math.Abs)));
    }

    [Theory]
    [InlineData("--overlap", new[] { "--tile", "32", "--overlap", "0.95" })]
    [InlineData("--overlap", new[] { "--overlap", "0.5" })]
    [InlineData("--blend", new[] { "--blend", "linear" })]
    [InlineData("--tile", new[] { "--tile", "0" })]
    [InlineData("--tile", new[] { "--tile", "30" })]
    [InlineData("--stride", new[] { "--tile", "32", "--stride", "40" })]
    [InlineData("--stride", new[] { "--tile", "32", "--stride", "8", "--overlap", "0.5" })]
    [InlineData("--tile-margin", new[] { "--tile", "32", "--stride", "16", "--tile-margin", "9" })]
    [InlineData("--tta", new[] { "--tta", "rotate" })]
    [InlineData("--tta", new[] { "--tta", "hflip,hflip" })]
    [InlineData("--scales", new[] { "--scales", "0,1" })]
    [InlineData("--scales", new[] { "--scales", "1,x" })]
    [InlineData("--scales", new[] { "--scales", "1,1" })]
    public void Bad_values_are_one_line_errors(string option, string[] arguments)
    {
        var (dir, checkpoint, images) = Setup();
        var output = Path.Combine(dir, "out");
        var run = Predict(checkpoint, images, output, arguments);
        Assert.Equal(2, run.Code);
        var line = Assert.Single(run.Err.TrimEnd().Split('\n'));
        Assert.Contains(option, line);
        Assert.False(Directory.Exists(output), "nothing is written");
    }
}
