using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Tests.Training;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(CliRunner.Collection)]
public class DetectionDemoCommandTests
{
    [Fact]
    public void QuickDetectionDemoBeatsTheBaselineAndEvalCocoGivesItsAp()
    {
        var output = Path.Combine(TinyTask.TempDir(), "demo");
        // One torch thread: the test runner runs other test classes on the other core.
        var (code, _, err) = CliRunner.Run("demo", "--task", "det", "--quick", "--out", output, "--threads", "1");
        Assert.True(code == 0, err);

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        var root = metrics.RootElement;
        Assert.Equal("yolo", root.GetProperty("model").GetString());
        var val = root.GetProperty("val");
        foreach (var name in new[] { "ap", "ap50", "ap75", "ap_small", "ap_medium", "ap_large" })
            Assert.InRange(val.GetProperty(name).GetDouble(), -1, 1);
        Assert.Equal(4, val.GetProperty("per_class_ap").GetArrayLength());
        Assert.True(root.GetProperty("epochs").GetInt32() >= 1);
        Assert.True(root.GetProperty("train_seconds").GetDouble() > 0);
        double ap = val.GetProperty("ap").GetDouble(), ap50 = val.GetProperty("ap50").GetDouble();
        var baseline = root.GetProperty("baseline");
        Assert.True(ap > baseline.GetProperty("ap").GetDouble() && ap50 > baseline.GetProperty("ap50").GetDouble(),
            $"demo AP {ap:F4} / AP50 {ap50:F4} does not beat the baseline {baseline}");

        // eval coco on the written files gives exactly the demo's numbers
        var report = Path.Combine(output, "report.json");
        Assert.Equal(0, CliRunner.Run("eval", "coco", "--gt", Path.Combine(output, "val_gt.json"), "--dt", Path.Combine(output, "val_predictions.json"),
            "--json", report).Code);
        using var json = JsonDocument.Parse(File.ReadAllText(report));
        var stats = json.RootElement.GetProperty("stats").EnumerateArray().Select(s => s.GetDouble()).ToArray();
        Assert.Equal(ap, stats[0]);
        Assert.Equal(ap50, stats[1]);
        Assert.Equal(val.GetProperty("ap75").GetDouble(), stats[2]);

        foreach (var file in new[] { "curves.png", Path.Combine("plots", "pr_all.png"), Path.Combine("run", "last.ckpt") })
            Assert.True(File.Exists(Path.Combine(output, file)), file);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "pictures"), "*_boxes.png"));
    }

    [Fact]
    public void ModelMustBeADetectorAndOnlyForDetection()
    {
        var output = Path.Combine(TinyTask.TempDir(), "demo");
        Assert.Equal(2, CliRunner.Run("demo", "--task", "det", "--model", "fcn8s", "--out", output).Code);
        Assert.Equal(2, CliRunner.Run("demo", "--model", "yolo", "--out", output).Code);
        Assert.Equal(2, CliRunner.Run("demo", "--task", "cls", "--out", output).Code);
        Assert.False(Directory.Exists(output));
    }

    /// <summary>`demo --task det --model NAME` trains any detector: at the demo's input side where the model takes it,
    /// else at the model's own fixed side.</summary>
    [Theory]
    [InlineData("yolo", 128)]
    [InlineData("overfeat", 128)]
    [InlineData("ssdlite320-mobilenet-v3-large", 128)]
    [InlineData("yolov1", 112)]
    [InlineData("ssd300-vgg16", 300)]
    public void EveryDetectorGetsAnInputSizeItTakes(string model, int inputSize)
    {
        var settings = PixelBox.Training.DetectionDemoSettings.Full.ForModel(model);
        Assert.Equal(model, settings.Model);
        Assert.Equal(inputSize, settings.InputSize);
        Assert.Equal(PixelBox.Training.DetectionDemoSettings.Full.Epochs, settings.Epochs);
    }
}
