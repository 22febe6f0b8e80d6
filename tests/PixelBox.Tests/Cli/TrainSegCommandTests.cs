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
    public void Resume_with_more_epochs_extends_a_finished_run_with_the_schedule_stretched()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 6, 16, seed: 4, valFraction: 0.34);
        var run = Path.Combine(dir, "run");
        Assert.Equal(0, CliApp.Run(["train", "seg", "--data", data, "--model", "unet-same", "--width", "16", "--depth", "2", "--out", run,
                                    "--epochs", "1", "--batch-size", "2", "--lr", "0.01", "--threads", "1"]));
        var first = ReadState(run);
        long stepsPerEpoch = first.Iteration;

        var (code, stdout, stderr) = CliRunner.Run("train", "seg", "--out", run, "--resume", "--epochs", "3", "--threads", "1");

        Assert.True(code == 0, stderr);
        Assert.Contains($"Run length {stepsPerEpoch} -> {3 * stepsPerEpoch} steps (1 -> 3 epochs)", stdout);
        var state = ReadState(run);
        Assert.Equal((3, 3 * stepsPerEpoch, 3), (state.Epoch, state.Iteration, state.Options.Epochs));
        var lines = File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName));
        Assert.Equal(3, lines.Length);
        // The schedule of the extended run is the one of a 3-epoch run: epoch 2 ends at step 2k - 1 of 3k.
        var stretched = state.Options.ScheduleFor(3 * stepsPerEpoch);
        using (var epoch2 = JsonDocument.Parse(lines[1]))
            Assert.Equal(stretched.At(2 * stepsPerEpoch - 1), epoch2.RootElement.GetProperty("learning_rate").GetDouble(), 12);

        (code, _, stderr) = CliRunner.Run("train", "seg", "--out", run, "--resume", "--epochs", "2", "--threads", "1");
        Assert.Equal(2, code);
        Assert.Equal($"error: {Path.Combine(run, Trainer.LastCheckpointName)}: the run has already trained {3 * stepsPerEpoch} steps (3 epochs); " +
                     $"a length of {2 * stepsPerEpoch} steps (2 epochs) cannot shorten it", stderr.Trim());
        (code, stdout, _) = CliRunner.Run("train", "seg", "--out", run, "--resume", "--threads", "1");
        Assert.Equal(0, code);
        Assert.Contains("has finished its 3 epochs", stdout);
        Assert.Contains("nothing to train", stdout);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName)).Length);
    }

    static TrainingState ReadState(string run)
    {
        var checkpoint = Checkpoint.Open(Path.Combine(run, Trainer.LastCheckpointName));
        return TrainingState.FromJson(checkpoint.Training!, checkpoint.Path);
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
