using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(PixelBox.Tests.Cli.CliRunner.Collection)]
public class TrainSegCommandTests
{
    [Fact]
    public void Trains_writes_the_run_files_refuses_to_overwrite_and_resumes_a_finished_run_as_a_no_op()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 6, 16, seed: 4, valFraction: 0.34);
        var run = Path.Combine(dir, "run");
        string[] train = ["train", "seg", "--data", data, "--model", "unet-same", "--width", "8", "--depth", "3", "--out", run,
                          "--epochs", "2", "--batch-size", "2", "--lr", "0.01", "--schedule", "cosine", "--threads", "1"];

        Assert.Equal(0, CliApp.Run(train));

        foreach (var file in new[] { Trainer.BestCheckpointName, Trainer.LastCheckpointName, Trainer.MetricsLogName, Trainer.CurvesName })
            Assert.True(File.Exists(Path.Combine(run, file)), file);
        var lines = File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName));
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            using var json = JsonDocument.Parse(line);
            Assert.InRange(json.RootElement.GetProperty("metrics").GetProperty("mean_iou").GetDouble(), 0, 1);
        }
        var checkpoint = Checkpoint.Open(Path.Combine(run, Trainer.LastCheckpointName));
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        Assert.Equal("unet-same", info.Name);
        Assert.Equal(new ModelSize(8, 3), info.Size);
        Assert.Equal(ShapesDataset.ClassNames, info.ClassNames);
        Assert.Equal(ScheduleKind.Cosine, Trainer.ReadOptions(checkpoint).Schedule);

        // A second fresh run into the same folder would clobber it.
        var before = File.ReadAllBytes(Path.Combine(run, Trainer.LastCheckpointName));
        Assert.Equal(2, CliApp.Run(train));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, Trainer.LastCheckpointName)));

        // Resuming a finished run trains nothing more.
        Assert.Equal(0, CliApp.Run(["train", "seg", "--out", run, "--resume", "--threads", "1"]));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName)).Length);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, Trainer.LastCheckpointName)));
    }

    [Fact]
    public void Bad_arguments_are_input_errors()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 4, 16, seed: 1, valFraction: 0.5);
        var run = Path.Combine(dir, "run");
        Assert.Equal(2, CliApp.Run(["train", "seg", "--model", "unet-same", "--out", run]));                         // no --data
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--out", run]));                                 // no --model
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--model", "no-such-net", "--out", run]));
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", Path.Combine(dir, "missing"), "--model", "unet-same", "--out", run]));
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--model", "unet-same", "--out", run, "--lr", "-1"]));
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--model", "unet-same", "--out", run, "--loss", "hinge"]));
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--model", "unet-same", "--out", run, "--class-weights", "1,x"]));
        Assert.Equal(2, CliApp.Run(["train", "seg", "--data", data, "--model", "fcn8s", "--width", "8", "--out", run]));   // no size options
        Assert.Equal(2, CliApp.Run(["train", "seg", "--out", run, "--resume"]));                                     // nothing to resume
        Assert.False(File.Exists(Path.Combine(run, Trainer.LastCheckpointName)));
    }
}
