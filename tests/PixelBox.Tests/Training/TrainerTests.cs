using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

[Collection(TorchRandomCollection.Name)]
public class TrainerTests
{
    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.AdamW)]
    public void Resume_after_an_interruption_gives_the_weights_of_an_uninterrupted_run(OptimizerKind optimizer)
    {
        var options = TinyTask.Options(optimizer);
        var straightDir = TinyTask.TempDir();
        var straightModel = TinyTask.Model(initSeed: 1);
        using (var straight = TinyTask.Trainer(straightModel, options, straightDir))
            straight.Run();

        // Interrupt in the middle of epoch 3: last.ckpt holds epoch 2, and one step of epoch 3 is lost.
        var resumedDir = TinyTask.TempDir();
        using (var cancel = new CancellationTokenSource())
        using (var first = TinyTask.Trainer(TinyTask.Model(initSeed: 1), options, resumedDir))
        {
            first.IterationCompleted += p => { if (p.Epoch == 3) cancel.Cancel(); };
            Assert.Throws<OperationCanceledException>(() => first.Run(cancel.Token));
        }
        // A fresh process: different initial weights, everything must come from the checkpoint.
        var resumedModel = TinyTask.Model(initSeed: 99);
        var checkpoint = Checkpoint.Open(Path.Combine(resumedDir, Trainer.LastCheckpointName));
        Assert.Equal(options, Trainer.ReadOptions(checkpoint));
        using (var second = TinyTask.Trainer(resumedModel, Trainer.ReadOptions(checkpoint), resumedDir))
        {
            second.Restore(checkpoint);
            Assert.Equal(2, second.State.Epoch);
            var state = second.Run();
            Assert.Equal(4, state.Epoch);
        }

        var expected = straightModel.state_dict();
        var actual = resumedModel.state_dict();
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.Contains("bn1.running_mean", expected.Keys);
        foreach (var (name, tensor) in expected)
            Assert.True(tensor.allclose(actual[name], rtol: 0, atol: 1e-6), $"{name} differs after resume");

        // The logs agree too (apart from wall time).
        static IEnumerable<string> WithoutTime(string dir) => File.ReadAllLines(Path.Combine(dir, Trainer.MetricsLogName))
            .Select(line => { var o = JsonNode.Parse(line)!.AsObject(); o.Remove("seconds"); return o.ToJsonString(); });
        Assert.Equal(WithoutTime(straightDir), WithoutTime(resumedDir));
    }

    [Fact]
    public void Resume_is_not_trivially_satisfied_a_different_seed_gives_different_weights()
    {
        var a = TinyTask.Model(1);
        var b = TinyTask.Model(1);
        using (var t = TinyTask.Trainer(a, TinyTask.Options(OptimizerKind.AdamW), TinyTask.TempDir())) t.Run();
        using (var t = TinyTask.Trainer(b, TinyTask.Options(OptimizerKind.AdamW) with { Seed = 8 }, TinyTask.TempDir())) t.Run();
        Assert.False(a.state_dict()["conv1.weight"].allclose(b.state_dict()["conv1.weight"], rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void A_run_writes_checkpoints_metrics_log_and_curves()
    {
        var dir = TinyTask.TempDir();
        var options = TinyTask.Options(OptimizerKind.AdamW);
        var epochs = new List<EpochSummary>();
        var steps = new List<IterationProgress>();
        TrainingState state;
        using (var trainer = TinyTask.Trainer(TinyTask.Model(1), options, dir))
        {
            trainer.EpochCompleted += epochs.Add;
            trainer.IterationCompleted += steps.Add;
            state = trainer.Run();
        }

        int perEpoch = TinyTask.Samples / TinyTask.BatchSize;
        Assert.Equal(4 * perEpoch, steps.Count);
        Assert.Equal(Enumerable.Range(1, 4 * perEpoch).Select(i => (long)i), steps.Select(s => s.Iteration));
        var schedule = options.ScheduleFor(4 * perEpoch);
        Assert.Equal(Enumerable.Range(0, 4 * perEpoch).Select(i => schedule.At(i)), steps.Select(s => s.LearningRate));
        Assert.All(steps, s => Assert.True(s.IterationsPerSecond > 0 && s.Remaining >= TimeSpan.Zero));
        Assert.Equal(TimeSpan.Zero, steps[^1].Remaining);

        var lines = File.ReadAllLines(Path.Combine(dir, Trainer.MetricsLogName));
        Assert.Equal(4, lines.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]); // throws unless valid JSON
            var root = json.RootElement;
            Assert.Equal(i + 1, root.GetProperty("epoch").GetInt32());
            Assert.Equal((i + 1) * perEpoch, root.GetProperty("iteration").GetInt64());
            Assert.Equal(epochs[i].TrainLoss, root.GetProperty("train_loss").GetDouble());
            var accuracy = root.GetProperty("metrics").GetProperty("accuracy").GetDouble();
            Assert.InRange(accuracy, 0, 1);
        }

        // best.ckpt is the epoch with the highest accuracy, last.ckpt the final one.
        var bestEpoch = epochs.MaxBy(e => e.Metrics["accuracy"])!.Epoch;
        Assert.Equal(bestEpoch, state.BestEpoch);
        var best = Checkpoint.Open(Path.Combine(dir, Trainer.BestCheckpointName));
        var last = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
        Assert.Equal(bestEpoch, (int)best.Training!["epoch"]!);
        Assert.Equal(4, (int)last.Training!["epoch"]!);
        Assert.Equal("tiny", (string)last.Model["name"]!);
        Assert.True(last.HasOptimizerState);

        var png = File.ReadAllBytes(Path.Combine(dir, Trainer.CurvesName));
        Assert.Equal(new byte[] { 137, 80, 78, 71 }, png[..4]);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Iteration_budget_ends_inside_an_epoch()
    {
        var dir = TinyTask.TempDir();
        var options = TinyTask.Options(OptimizerKind.Sgd) with { Iterations = 5 };
        using var trainer = TinyTask.Trainer(TinyTask.Model(1), options, dir);
        Assert.Equal(2, trainer.TotalEpochs);
        var state = trainer.Run();
        Assert.Equal(5, state.Iteration);
        Assert.Equal(2, state.History.Count);
        Assert.Equal(5, state.History[^1].Iteration);
    }

    [Fact]
    public void Restore_refuses_a_checkpoint_written_with_other_options()
    {
        var dir = TinyTask.TempDir();
        using (var t = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 1 }, dir)) t.Run();
        var checkpoint = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
        using var other = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 3 }, dir);
        var e = Assert.Throws<InputException>(() => other.Restore(checkpoint));
        Assert.Contains(checkpoint.Path, e.Message);
    }

    [Fact]
    public void Divergence_is_reported_not_trained_through()
    {
        var data = new TinyTask.Data(0);
        using var trainer = new Trainer(TinyTask.Model(1), (_, _) => torch.tensor(float.NaN, requires_grad: true),
            data, TinyTask.Options(OptimizerKind.Sgd), null, TinyTask.TempDir(), TinyTask.Header);
        var e = Assert.Throws<InvalidOperationException>(() => trainer.Run());
        Assert.Contains("diverged", e.Message);
    }
}
