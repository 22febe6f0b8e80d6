using System.Text.Json.Nodes;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Tests.Training;
using PixelBox.Training;
using TorchSharp;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(PixelBox.Tests.Cli.CliRunner.Collection)]
public class PredictSegCommandTests
{
    [Fact]
    public void Predicts_a_folder_into_masks_and_overlays_of_the_input_sizes()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", 5, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(8, 3));
        torch.manual_seed(0);
        using (var model = info.CreateModel())
            Checkpoint.Write(Path.Combine(dir, "best.ckpt"), new JsonObject { ["model"] = info.ToJson() }, model, null);
        var input = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var sizes = new Dictionary<string, (int W, int H)> { ["wide"] = (40, 24), ["odd"] = (17, 33) };
        var random = new Random(1);
        foreach (var (stem, (w, h)) in sizes)
        {
            var pixels = new byte[w * h * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(input, stem + ".png"), new RgbImage(w, h, pixels));
        }
        var output = Path.Combine(dir, "predicted");

        Assert.Equal(0, CliApp.Run(["predict", "seg", "--model", Path.Combine(dir, "best.ckpt"), "--input", input, "--out", output, "--threads", "1"]));

        foreach (var (stem, (w, h)) in sizes)
        {
            var mask = IndexMaskPng.Read(Path.Combine(output, stem + ".png"));
            Assert.Equal((w, h), (mask.Width, mask.Height));
            Assert.All(mask.Pixels, p => Assert.InRange(p, 0, 4));
            var overlay = RgbImageFile.Read(Path.Combine(output, stem + "_overlay.png"));
            Assert.Equal((2 * w, h), (overlay.Width, overlay.Height));
        }
        Assert.Equal(4, Directory.GetFiles(output).Length);
    }

    [Fact]
    public void A_single_image_and_bad_inputs()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", 2, 3, ["bg", "fg"], Normalization.ImageNet, 255, new ModelSize(4, 2));
        var checkpoint = Path.Combine(dir, "m.ckpt");
        using (var model = info.CreateModel())
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        var image = Path.Combine(dir, "one.png");
        RgbImageFile.WritePng(image, new RgbImage(8, 8, new byte[8 * 8 * 3]));
        var output = Path.Combine(dir, "out");

        Assert.Equal(0, CliApp.Run(["predict", "seg", "--model", checkpoint, "--input", image, "--out", output, "--threads", "1"]));
        Assert.Equal(["one.png", "one_overlay.png"], Directory.GetFiles(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var notCheckpoint = Path.Combine(dir, "notes.ckpt");
        File.WriteAllText(notCheckpoint, "{}");
        Assert.Equal(2, CliApp.Run(["predict", "seg", "--model", notCheckpoint, "--input", image, "--out", output]));
        Assert.Equal(2, CliApp.Run(["predict", "seg", "--model", checkpoint, "--input", Path.Combine(dir, "none.png"), "--out", output]));
        var broken = Path.Combine(dir, "broken.png");
        File.WriteAllBytes(broken, [137, 80, 78, 71, 1, 2, 3]);
        Assert.Equal(2, CliApp.Run(["predict", "seg", "--model", checkpoint, "--input", broken, "--out", output]));
    }
}
