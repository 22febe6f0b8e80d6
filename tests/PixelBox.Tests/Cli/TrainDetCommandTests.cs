using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Inference;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(CliRunner.Collection)]
public class TrainDetCommandTests
{
    [Fact]
    public void TrainsAndResumesAFinishedRunAsANoOp()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 8, 32, seed: 4, valFraction: 0.25);
        var run = Path.Combine(dir, "run");
        string[] train = ["train", "det", "--data", data, "--format", "shapes", "--out", run, "--image-size", "32", "--epochs", "1",
                          "--batch-size", "3", "--close-mosaic", "0", "--precision", "bf16", "--threads", "1"];
        var (code, stdout, err) = CliRunner.Run(train);
        Assert.True(code == 0, err);
        Assert.Contains("box", stdout);
        foreach (var file in new[] { Trainer.BestCheckpointName, Trainer.LastCheckpointName, Trainer.MetricsLogName, Trainer.CurvesName })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        using (var line = JsonDocument.Parse(File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName)).Single()))
            Assert.True(line.RootElement.GetProperty("metrics").TryGetProperty("ap50", out _));

        var task = Checkpoint.Open(Path.Combine(run, Trainer.LastCheckpointName)).Header["task"].Deserialize<DetectionTaskOptions>(TrainingOptions.Json)!;
        Assert.Equal(Precision.Bf16, task.ValidationPrecision); // stored for --resume, which may change it

        var before = File.ReadAllBytes(Path.Combine(run, Trainer.LastCheckpointName));
        Assert.Equal(2, CliRunner.Run(train).Code);   // a fresh run would clobber the existing one
        Assert.Equal(0, CliRunner.Run("train", "det", "--out", run, "--resume", "--precision", "fp32", "--threads", "1").Code);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, Trainer.LastCheckpointName)));
    }

    [Fact]
    public void BadArgumentsAreInputErrors()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 4, 32, seed: 1, valFraction: 0.5);
        var run = Path.Combine(dir, "run");

        string Problem(params string[] args)
        {
            var (code, _, err) = CliRunner.Run([.. args, "--threads", "1"]);
            Assert.Equal(2, code);
            Assert.StartsWith("error: ", err);
            return err;
        }

        Assert.Contains("--data", Problem("train", "det", "--format", "shapes", "--out", run));
        Assert.Contains("--format", Problem("train", "det", "--data", data, "--out", run));
        Assert.Contains("unknown detection format", Problem("train", "det", "--data", data, "--format", "kitti", "--out", run));
        Assert.Contains("unknown model", Problem("train", "det", "--data", data, "--format", "shapes", "--model", "yolo-z", "--out", run));
        Assert.Contains("segmentation model", Problem("train", "det", "--data", data, "--format", "shapes", "--model", "unet-same", "--out", run));
        Assert.Contains("multiple of 32", Problem("train", "det", "--data", data, "--format", "shapes", "--image-size", "100", "--out", run));
        Assert.Contains("--image-size", Problem("train", "det", "--data", data, "--format", "shapes", "--image-size", "0", "--out", run));
        Assert.Contains("--hsv", Problem("train", "det", "--data", data, "--format", "shapes", "--hsv", "0.1,2", "--out", run));
        Assert.Contains("--mosaic", Problem("train", "det", "--data", data, "--format", "shapes", "--mosaic", "1.5", "--out", run));
        Assert.Contains("instances.json", Problem("train", "det", "--data", Path.Combine(dir, "missing"), "--format", "shapes", "--out", run));
        Assert.Contains("last.ckpt", Problem("train", "det", "--out", run, "--resume"));
        Assert.False(File.Exists(Path.Combine(run, Trainer.LastCheckpointName)));
    }
}
