using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Metrics;
using PixelBox.Tests.Training;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(PixelBox.Tests.Cli.CliRunner.Collection)]
public class DemoCommandTests
{
    [Fact]
    public void Quick_demo_writes_its_outputs_and_beats_predicting_background_everywhere()
    {
        var output = Path.Combine(TinyTask.TempDir(), "demo");

        // One torch thread: the test runner runs other test classes on the other core.
        Assert.Equal(0, CliApp.Run(["demo", "--quick", "--out", output, "--threads", "1"]));

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal("unet-same", root.GetProperty("model").GetString());
        var val = root.GetProperty("val");
        var meanIoU = val.GetProperty("mean_iou").GetDouble();
        Assert.InRange(val.GetProperty("pixel_accuracy").GetDouble(), 0, 1);
        var perClass = val.GetProperty("per_class_iou").EnumerateArray().ToList();
        Assert.Equal(ShapesDataset.ClassNames.Length, perClass.Count);
        Assert.True(root.GetProperty("epochs").GetInt32() >= 1);
        Assert.True(root.GetProperty("train_seconds").GetDouble() > 0);

        // The baseline, computed here from the validation masks: predict label 0 for every pixel.
        var dataDir = Directory.GetDirectories(output, "shapes-*").Single();
        var background = new ConfusionMatrix(ShapesDataset.ClassNames.Length, MaskFolderDataset.IgnoreLabel);
        foreach (var sample in MaskFolderDataset.Open(dataDir, "val"))
            background.Update(sample.Mask, new byte[sample.Mask.Length]);
        Assert.True(meanIoU > background.MeanIoU, $"demo mIoU {meanIoU:F4} does not beat all-background {background.MeanIoU:F4}");
        Assert.Equal(background.MeanIoU, root.GetProperty("all_background_mean_iou").GetDouble(), 12);

        foreach (var file in new[] { "curves.png", "confusion_matrix.png", Path.Combine("run", "best.ckpt") })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "overlays"), "*.png"));
    }
}
