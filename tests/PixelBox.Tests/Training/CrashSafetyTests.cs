using System.Diagnostics;
using PixelBox.Data;
using PixelBox.Training;

namespace PixelBox.Tests.Training;

/// <summary>
/// Real `pixelbox train seg` processes killed with SIGKILL after given steps, at the start of validation and
/// halfway through checkpoint and log writes (KillSwitch points), and once at a random moment: the
/// checkpoints on disk are never damaged, and resuming (or restarting, when the kill came before the first
/// checkpoint) ends with exactly the weights of an uninterrupted run, in last.ckpt and best.ckpt.
/// One torch thread, so runs are bit-reproducible.
/// </summary>
public class CrashSafetyTests
{
    static readonly string CliDll = Path.Combine(AppContext.BaseDirectory, "PixelBox.Cli.dll");

    static string[] TrainArgs(string data, string run) =>
        ["train", "seg", "--data", data, "--model", "unet-same", "--width", "16", "--depth", "3", "--out", run,
         "--epochs", "2", "--batch-size", "4", "--lr", "0.01", "--schedule", "cosine", "--workers", "1", "--threads", "1", "--seed", "3"];

    static string[] ResumeArgs(string run) => ["train", "seg", "--out", run, "--resume", "--threads", "1"];

    static Process Start(string[] args, string? killAt = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (killAt is not null)
            info.Environment[KillSwitch.Variable] = killAt;
        info.ArgumentList.Add(CliDll);
        foreach (var a in args) info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    static void RunToEnd(string[] args)
    {
        using var process = Start(args);
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)), "training did not finish in 5 minutes");
        Assert.Equal(0, process.ExitCode);
    }

    /// <summary>Every checkpoint present opens and passes its checksums (nothing half-written is ever visible).</summary>
    static void AssertCheckpointsIntact(string run)
    {
        foreach (var name in new[] { Trainer.LastCheckpointName, Trainer.BestCheckpointName })
        {
            var path = Path.Combine(run, name);
            if (!File.Exists(path)) continue;
            var checkpoint = Checkpoint.Open(path);
            var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
            using var model = info.CreateModel();
            checkpoint.LoadModel(model);
        }
    }

    /// <summary>Continues a killed run the way a user would: --resume when there is a checkpoint, else start again.</summary>
    static void Finish(string data, string run)
    {
        bool resumable = File.Exists(Path.Combine(run, Trainer.LastCheckpointName));
        RunToEnd(resumable ? ResumeArgs(run) : TrainArgs(data, run));
    }

    static Dictionary<string, double[]> Weights(string run, string name = Trainer.LastCheckpointName)
    {
        var checkpoint = Checkpoint.Open(Path.Combine(run, name));
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        using var model = info.CreateModel();
        checkpoint.LoadModel(model);
        // float32 -> float64 is exact, so equal doubles mean bit-equal weights.
        return model.state_dict().ToDictionary(p => p.Key, p => p.Value.to(TorchSharp.torch.ScalarType.Float64).data<double>().ToArray());
    }

    [Fact]
    public void Sigkill_at_any_point_then_resume_ends_with_the_weights_of_an_uninterrupted_run()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 20, 32, seed: 5, valFraction: 0.2);
        var straight = Path.Combine(dir, "straight");
        var clock = Stopwatch.StartNew();
        RunToEnd(TrainArgs(data, straight));
        var runSeconds = clock.Elapsed.TotalSeconds;
        var expected = Weights(straight);
        var expectedBest = Weights(straight, Trainer.BestCheckpointName);

        // 16 training images in batches of 4: 4 steps an epoch, 2 epochs. Atomic writes per epoch: best.ckpt
        // (when better), last.ckpt, metrics.jsonl.
        string[] killPoints =
        [
            $"{KillSwitch.Step}:1", $"{KillSwitch.Step}:3", $"{KillSwitch.Step}:6",
            $"{KillSwitch.Validation}:1", $"{KillSwitch.Validation}:2",
            $"{KillSwitch.AtomicWrite}:1", $"{KillSwitch.AtomicWrite}:2", $"{KillSwitch.AtomicWrite}:3", $"{KillSwitch.AtomicWrite}:4",
        ];
        int run = 0;
        foreach (var point in killPoints)
        {
            var dir1 = Path.Combine(dir, "killed-" + run++);
            using (var process = Start(TrainArgs(data, dir1), point))
            {
                Assert.True(process.WaitForExit(TimeSpan.FromMinutes(5)));
                Assert.Equal(137, process.ExitCode); // 128 + SIGKILL: the kill point was reached
            }
            AssertResumesToTheSameWeights(data, dir1, point);
        }

        // And once at a moment nobody chose (it may land anywhere, or after the end).
        var randomRun = Path.Combine(dir, "killed-random");
        using (var process = Start(TrainArgs(data, randomRun)))
        {
            if (!process.WaitForExit(TimeSpan.FromSeconds(runSeconds * new Random().NextDouble())))
                process.Kill();
            process.WaitForExit();
        }
        AssertResumesToTheSameWeights(data, randomRun, "at a random moment");

        void AssertResumesToTheSameWeights(string data, string run, string killedAt)
        {
            AssertCheckpointsIntact(run);
            Finish(data, run);
            AssertCheckpointsIntact(run);
            foreach (var (name, weights) in new[] { (Trainer.LastCheckpointName, expected), (Trainer.BestCheckpointName, expectedBest) })
            {
                var actual = Weights(run, name);
                Assert.Equal(weights.Keys, actual.Keys);
                foreach (var (key, values) in weights)
                    Assert.True(values.AsSpan().SequenceEqual(actual[key]), $"{name}: {key} differs after a kill at {killedAt}");
            }
            Assert.Empty(Directory.GetFiles(run, "*.tmp")); // temp files of the killed process were cleaned up
        }
    }
}
