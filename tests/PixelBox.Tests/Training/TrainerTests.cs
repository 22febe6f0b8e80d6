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

        // Interrupt in the middle of epoch 3: last.ckpt holds epoch 2 and the step of epoch 3 taken before the stop.
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
            Assert.Equal(1, second.State.Partial!.Steps);
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
        using var other = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 1, Momentum = 0.5 }, dir);
        var e = Assert.Throws<InputException>(() => other.Restore(checkpoint));
        Assert.Contains(checkpoint.Path, e.Message);
    }

    [Fact]
    public void Restore_accepts_a_longer_run_and_continues_it_with_the_new_length()
    {
        var dir = TinyTask.TempDir();
        using (var t = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 1 }, dir)) t.Run();
        var checkpoint = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
        using var longer = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 3 }, dir);
        longer.Restore(checkpoint);
        Assert.Equal((1, 3), (longer.State.Epoch, longer.State.Options.Epochs));
        var state = longer.Run();
        Assert.Equal(3, state.Epoch);
        Assert.Equal(3, state.History.Count);

        var done = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
        using var shorter = TinyTask.Trainer(TinyTask.Model(1), TinyTask.Options(OptimizerKind.Sgd) with { Epochs = 2 }, dir);
        var e = Assert.Throws<InputException>(() => shorter.Restore(done));
        Assert.Contains("cannot shorten it", e.Message);
    }

    [Fact]
    public void Divergence_is_a_user_error_naming_the_run_not_trained_through()
    {
        var data = new TinyTask.Data(0);
        var dir = TinyTask.TempDir();
        using var trainer = new Trainer<TrainingBatch>(TinyTask.Model(1), _ => TrainingLoss.Of(torch.tensor(float.NaN, requires_grad: true)),
            data, TinyTask.Options(OptimizerKind.Sgd), null, dir, TinyTask.Header);
        var e = Assert.Throws<InputException>(() => trainer.Run());
        Assert.StartsWith($"{Path.GetFullPath(dir)}: training diverged: loss is NaN at iteration 1; no epoch has finished yet", e.Message);
        Assert.Contains("lower --lr", e.Message);
    }

    [Fact]
    public void Cancelling_at_any_step_and_resuming_ends_with_the_uninterrupted_weights_and_log()
    {
        var options = TinyTask.Options(OptimizerKind.AdamW) with { Epochs = 2 };
        var straightDir = TinyTask.TempDir();
        var straightModel = TinyTask.Model(initSeed: 1);
        using (var straight = TinyTask.Trainer(straightModel, options, straightDir))
            straight.Run();
        var expected = straightModel.state_dict();

        int steps = 2 * TinyTask.Samples / TinyTask.BatchSize;
        for (int stopAfter = 1; stopAfter < steps; stopAfter++)
        {
            var dir = TinyTask.TempDir();
            // Stopped twice: once at stopAfter, and again one step after resuming (a partial epoch resumed and stopped again).
            foreach (var stop in new[] { stopAfter, stopAfter + 1 })
            {
                if (stop >= steps) break;
                using var cancel = new CancellationTokenSource();
                var model = TinyTask.Model(initSeed: stop == stopAfter ? 1 : 50);
                using var trainer = TinyTask.Trainer(model, options, dir);
                if (stop != stopAfter)
                    trainer.Restore(Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName)));
                trainer.IterationCompleted += p => { if (p.Iteration == stop) cancel.Cancel(); };
                Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token));
                var saved = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
                Assert.Equal(stop, (long)saved.Training!["iteration"]!);
            }
            var resumedModel = TinyTask.Model(initSeed: 99);
            var checkpoint = Checkpoint.Open(Path.Combine(dir, Trainer.LastCheckpointName));
            using (var resumed = TinyTask.Trainer(resumedModel, options, dir))
            {
                resumed.Restore(checkpoint);
                resumed.Run();
            }
            foreach (var (name, tensor) in expected)
                Assert.True(tensor.allclose(resumedModel.state_dict()[name], rtol: 0, atol: 1e-6), $"{name} differs after stopping at step {stopAfter}");
            static IEnumerable<string> WithoutTime(string dir) => File.ReadAllLines(Path.Combine(dir, Trainer.MetricsLogName))
                .Select(line => { var o = JsonNode.Parse(line)!.AsObject(); o.Remove("seconds"); return o.ToJsonString(); });
            Assert.Equal(WithoutTime(straightDir), WithoutTime(dir));
        }
    }

    [Fact]
    public void Cancelling_leaves_best_checkpoint_untouched()
    {
        var dir = TinyTask.TempDir();
        var options = TinyTask.Options(OptimizerKind.Sgd);
        using var cancel = new CancellationTokenSource();
        using var trainer = TinyTask.Trainer(TinyTask.Model(1), options, dir);
        int perEpoch = TinyTask.Samples / TinyTask.BatchSize;
        byte[]? bestBefore = null;
        trainer.EpochCompleted += e => bestBefore = File.ReadAllBytes(Path.Combine(dir, Trainer.BestCheckpointName));
        trainer.IterationCompleted += p => { if (p.Iteration == perEpoch + 1) cancel.Cancel(); };
        Assert.Throws<OperationCanceledException>(() => trainer.Run(cancel.Token));
        Assert.Equal(bestBefore, File.ReadAllBytes(Path.Combine(dir, Trainer.BestCheckpointName)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Named_loss_parts_are_logged_per_epoch_and_sum_to_the_loss()
    {
        var dir = TinyTask.TempDir();
        var options = TinyTask.Options(OptimizerKind.AdamW) with { Epochs = 2 };
        var model = TinyTask.Model(1);
        var data = new TinyTask.Data(options.Seed);
        var steps = new List<IterationProgress>();
        using (var trainer = new Trainer<TrainingBatch>(model, batch =>
               {
                   var logits = model.forward(batch.Input);
                   return TrainingLoss.Sum(
                       ("ce", nn.functional.cross_entropy(logits, batch.Target)),
                       ("l2", logits.square().mean() * 0.01));
               }, data, options, TinyTask.Validator(model, data), dir, TinyTask.Header))
        {
            trainer.IterationCompleted += steps.Add;
            trainer.Run();
        }
        Assert.All(steps, s => Assert.Equal(["ce", "l2"], s.EpochLossParts.Keys));
        foreach (var line in File.ReadAllLines(Path.Combine(dir, Trainer.MetricsLogName)))
        {
            var o = JsonNode.Parse(line)!.AsObject();
            double ce = (double)o["loss_parts"]!["ce"]!, l2 = (double)o["loss_parts"]!["l2"]!;
            Assert.True(l2 > 0 && ce > 0);
            Assert.Equal((double)o["train_loss"]!, ce + l2, 5);
        }
    }
}
