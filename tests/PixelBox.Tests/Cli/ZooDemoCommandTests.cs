using System.Text.Json;
using PixelBox.Data;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

/// <summary>`demo --model NAME` trains a segmentation model of the zoo on Shapes end to end.</summary>
// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(CliRunner.Collection)]
public class ZooDemoCommandTests
{
    [Theory]
    [InlineData("lraspp-mobilenet-v3-large")]
    [InlineData("deeplabv3-mobilenet-v3-large")]
    public void QuickDemoTrainsAZooModelEndToEnd(string model)
    {
        var output = Path.Combine(TinyTask.TempDir(), "demo");
        // One torch thread: the test runner runs other test classes on the other core.
        var (code, stdout, err) = CliRunner.Run("demo", "--quick", "--model", model, "--out", output, "--threads", "1");
        Assert.True(code == 0, err + stdout);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal(model, root.GetProperty("model").GetString());
        Assert.Equal(ShapesDemoSettings.Quick.ImageSize, root.GetProperty("images").GetProperty("size").GetInt32());
        Assert.Equal(ShapesDemoSettings.Quick.Epochs, root.GetProperty("epochs").GetInt32());
        var val = root.GetProperty("val");
        Assert.InRange(val.GetProperty("mean_iou").GetDouble(), 0, 1);
        Assert.InRange(val.GetProperty("pixel_accuracy").GetDouble(), 0, 1);
        Assert.Equal(ShapesDataset.ClassNames.Length, val.GetProperty("per_class_iou").GetArrayLength());

        // The checkpoint is the named architecture at its registry size, trained at the zoo models' rate.
        var checkpoint = Checkpoint.Open(Path.Combine(output, "run", "best.ckpt"));
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        Assert.Equal((model, ShapesDataset.ClassNames.Length, (ModelSize?)null), (info.Name, info.NumClasses, info.Size));
        Assert.Equal(ShapesDemoSettings.BatchNormLearningRate, Trainer.ReadOptions(checkpoint).LearningRate);
        foreach (var file in new[] { "curves.png", "confusion_matrix.png" })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "overlays"), "*.png"));
    }

    [Fact]
    public void ModelOfTheOtherTaskIsOneLineNamingTheWay()
    {
        var output = Path.Combine(TinyTask.TempDir(), "demo");
        var detector = CliRunner.Run("demo", "--model", "yolo", "--out", output);
        Assert.Equal(2, detector.Code);
        Assert.Equal("error: --model: 'yolo' is a detection model (train it with --task det); segmentation models: " +
                     string.Join(", ", PixelBox.Models.ModelRegistry.NamesOf(PixelBox.Models.ModelTasks.Segmentation)), detector.Err.Trim());

        var segmenter = CliRunner.Run("demo", "--task", "det", "--model", "lraspp-mobilenet-v3-large", "--out", output);
        Assert.Equal(2, segmenter.Code);
        Assert.Single(segmenter.Err.Trim().Split('\n'));
        Assert.StartsWith("error: --model: 'lraspp-mobilenet-v3-large' is a segmentation model (the demo without --task det trains it)", segmenter.Err);
        Assert.False(Directory.Exists(output));
    }
}
