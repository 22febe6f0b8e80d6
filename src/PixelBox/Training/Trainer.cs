using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Visualization;
using PixelBox.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>File names of a run folder, and reading the options a checkpoint was trained with.</summary>
public static class Trainer
{
    public const string LastCheckpointName = "last.ckpt";
    public const string BestCheckpointName = "best.ckpt";
    public const string MetricsLogName = "metrics.jsonl";
    public const string CurvesName = "curves.png";

    /// <summary>The training options stored in a checkpoint, for building a trainer that can resume it.</summary>
    public static TrainingOptions ReadOptions(Checkpoint checkpoint) => ReadState(checkpoint).Options;

    internal static TrainingState ReadState(Checkpoint checkpoint)
    {
        var training = checkpoint.Training ?? throw new InputException(checkpoint.Path, "checkpoint holds no training state");
        return TrainingState.FromJson(training, checkpoint.Path);
    }
}

/// <summary>
/// Trains any module on any task: it knows a model, a loss of the task's batches, batches per epoch and a
/// validation callback that returns named metrics, nothing about images, classes or what a batch holds.
/// Each epoch it validates, writes last.ckpt (and best.ckpt when the selection metric improves)
/// atomically with the optimizer state, rewrites metrics.jsonl, and at the end draws curves.png.
/// </summary>
/// <remarks>
/// A resumed run (<see cref="Restore"/>) continues exactly: the learning rate is a pure function of the
/// iteration, the data and torch's random generator are re-seeded from (seed, epoch) at every epoch,
/// and model buffers and optimizer state come from the checkpoint. A run cancelled inside an epoch
/// (Ctrl+C) writes last.ckpt there, with the steps taken and torch's generator state, so that nothing
/// done is lost and the resumed run still ends as the uninterrupted one.
/// </remarks>
public sealed class Trainer<TBatch> : IDisposable where TBatch : IDisposable
{
    readonly nn.Module model;
    readonly Func<TBatch, TrainingLoss> loss;
    readonly ITrainingData<TBatch> data;
    readonly Func<IReadOnlyDictionary<string, double>>? validate;
    readonly JsonObject header;
    readonly OptimizerHelper optimizer;
    readonly LearningRateSchedule schedule;

    /// <param name="model">Trained in place; its parameters and buffers are what checkpoints hold.</param>
    /// <param name="loss">The loss of one batch with the model in training mode (runs the forward pass).</param>
    /// <param name="data">Training batches per epoch.</param>
    /// <param name="options">Optimizer, schedule, length, seed.</param>
    /// <param name="validate">Called after every epoch with the model in eval mode under no_grad; returns
    /// metrics by name, including <see cref="TrainingOptions.SelectionMetric"/>. Without it every epoch
    /// counts as the best, so best.ckpt follows last.ckpt.</param>
    /// <param name="outputDirectory">Where checkpoints, metrics.jsonl and curves.png go.</param>
    /// <param name="header">Stored in every checkpoint header beside the trainer's own "training" entry;
    /// must hold a "model" object (what is needed to rebuild and use the model), may hold a "task"
    /// object (what is needed to rebuild the data and loss for a resume).</param>
    public Trainer(
        nn.Module model,
        Func<TBatch, TrainingLoss> loss,
        ITrainingData<TBatch> data,
        TrainingOptions options,
        Func<IReadOnlyDictionary<string, double>>? validate,
        string outputDirectory,
        JsonObject header)
    {
        options.Validate();
        this.model = model;
        this.loss = loss;
        this.data = data;
        this.validate = validate;
        if (header["model"] is not JsonObject || header.ContainsKey("training"))
            throw new ArgumentException("the checkpoint header needs a \"model\" object and must leave \"training\" to the trainer", nameof(header));
        this.header = header;
        OutputDirectory = Path.GetFullPath(outputDirectory);
        TotalIterations = options.TotalIterations(data.BatchesPerEpoch);
        TotalEpochs = options.TotalEpochs(data.BatchesPerEpoch);
        schedule = options.ScheduleFor(TotalIterations);
        optimizer = CreateOptimizer(model, options);
        State = new TrainingState { Options = options };
    }

    public string OutputDirectory { get; }

    public long TotalIterations { get; }

    public int TotalEpochs { get; }

    public TrainingState State { get; private set; }

    public string LastCheckpointPath => Path.Combine(OutputDirectory, Trainer.LastCheckpointName);

    public string BestCheckpointPath => Path.Combine(OutputDirectory, Trainer.BestCheckpointName);

    public string MetricsLogPath => Path.Combine(OutputDirectory, Trainer.MetricsLogName);

    public string CurvesPath => Path.Combine(OutputDirectory, Trainer.CurvesName);

    /// <summary>Raised after every optimizer step.</summary>
    public event Action<IterationProgress>? IterationCompleted;

    /// <summary>Raised after every epoch's validation and checkpoint.</summary>
    public event Action<EpochSummary>? EpochCompleted;

    /// <summary>
    /// Loads model, optimizer and progress from a checkpoint this trainer's configuration wrote, so that
    /// <see cref="Run"/> continues where it stopped. The checkpoint's training options must equal this
    /// trainer's (construct the trainer from <see cref="Trainer.ReadOptions"/> to guarantee that), except for
    /// the run's length (epochs, iterations): a longer run extends the stored one, with the learning-rate
    /// schedule computed for the new length.
    /// </summary>
    public void Restore(Checkpoint checkpoint)
    {
        var restored = Trainer.ReadState(checkpoint);
        if ((restored.Options with { Epochs = State.Options.Epochs, Iterations = State.Options.Iterations }) != State.Options)
            throw new InputException(checkpoint.Path, "was written with different training options; resume with the stored options");
        if (restored.Options != State.Options)
            CheckExtension(restored, checkpoint.Path);
        if (restored.Partial is { } partial)
        {
            if (partial.Steps < 1 || partial.Steps >= data.BatchesPerEpoch
                || restored.Iteration != (long)restored.Epoch * data.BatchesPerEpoch + partial.Steps)
                throw new InputException(checkpoint.Path, "its position inside an epoch does not fit the training data (was the dataset changed?)");
            if (!Convert.TryFromBase64String(partial.TorchRngState, new byte[partial.TorchRngState.Length], out _))
                throw new InputException(checkpoint.Path, "corrupt random-generator state in the checkpoint");
        }
        checkpoint.LoadModel(model);
        checkpoint.LoadOptimizer(optimizer);
        State = restored with { Options = State.Options };
        // metrics.jsonl may hold epochs past the checkpoint (or miss the last one after a crash): the
        // checkpoint's history is the truth.
        WriteMetricsLog();
    }

    /// <summary>A new length must not undo finished steps, and epochs must stay whole: a run whose length (in
    /// iterations) ended inside its last epoch would restart that epoch's batches at the wrong place. (An epoch
    /// interrupted by Ctrl+C is whole: its checkpoint records where to continue.)</summary>
    void CheckExtension(TrainingState restored, string source)
    {
        if (TotalIterations < restored.Iteration)
            throw new InputException(source,
                $"the run has already trained {restored.Iteration} steps ({restored.Epoch} epochs); a length of {TotalIterations} steps ({TotalEpochs} epochs) cannot shorten it");
        if (restored.Partial is null && restored.Iteration != (long)restored.Epoch * data.BatchesPerEpoch)
            throw new InputException(source,
                $"the run's length ended inside epoch {restored.Epoch} (step {restored.Iteration}, {data.BatchesPerEpoch} steps per epoch), so it cannot be given a new length; start a new run");
    }

    /// <summary>Trains until the end of the run. Cancellation stops after the current step, writes
    /// last.ckpt at that point (best.ckpt is left alone) and throws OperationCanceledException.</summary>
    public TrainingState Run(CancellationToken cancellation = default)
    {
        OutputPaths.CreateFolder(OutputDirectory);
        foreach (var output in new[] { LastCheckpointPath, BestCheckpointPath, MetricsLogPath, CurvesPath })
            AtomicFile.DeleteStaleTempFiles(output);
        var options = State.Options;
        var trainClock = new Stopwatch();
        long sessionSteps = 0;
        // no collection while a step's torch calls run (TorchSharp's temporary Scalars, see NoGcRegion)
        using var noGc = new Interop.NoGcRegion();

        for (int epoch = State.Epoch + 1; epoch <= TotalEpochs; epoch++)
        {
            var partial = State.Partial;
            var epochClock = Stopwatch.StartNew();
            double secondsBefore = partial?.Seconds ?? 0;
            if (partial is null)
                torch.manual_seed(EpochSeed(options.Seed, epoch));
            else
                SetTorchRngState(partial.TorchRngState);
            model.train();
            long iteration = State.Iteration;
            long epochEnd = Math.Min(TotalIterations, (long)epoch * data.BatchesPerEpoch);
            var sums = new EpochSums(partial);
            double rate = 0;
            trainClock.Start();
            using (var batches = data.Epoch(epoch, sums.Steps).GetEnumerator())
            {
                while (iteration < epochEnd)
                {
                    if (cancellation.IsCancellationRequested)
                    {
                        noGc.End();
                        if (sums.Steps > (partial?.Steps ?? 0))
                            WritePartialCheckpoint(iteration, sums, secondsBefore + epochClock.Elapsed.TotalSeconds);
                        cancellation.ThrowIfCancellationRequested();
                    }
                    if (!batches.MoveNext())
                        throw new InvalidOperationException(
                            $"epoch {epoch} yielded {sums.Steps} batches, fewer than the announced {data.BatchesPerEpoch}");
                    rate = schedule.At(iteration);
                    (double Total, (string Name, double Value)[] Parts) values;
                    noGc.Ensure();
                    using (var batch = batches.Current)
                        values = Step(batch, rate);
                    if (!double.IsFinite(values.Total))
                        throw new InputException(OutputDirectory, Diverged(values, iteration + 1));
                    sums.Add(values.Total, values.Parts);
                    iteration++;
                    KillSwitch.Point(KillSwitch.Step);
                    sessionSteps++;
                    double perSecond = sessionSteps / Math.Max(trainClock.Elapsed.TotalSeconds, 1e-9);
                    IterationCompleted?.Invoke(new IterationProgress(
                        epoch, TotalEpochs, iteration, TotalIterations, values.Total, sums.MeanLoss, rate, perSecond,
                        TimeSpan.FromSeconds((TotalIterations - iteration) / perSecond), sums.MeanParts()));
                }
            }
            trainClock.Stop();
            noGc.End();

            var metrics = Validate();
            bool isBest;
            double? best = State.BestMetric;
            if (validate is null)
                isBest = true;
            else
            {
                if (!metrics.TryGetValue(options.SelectionMetric, out var value))
                    throw new InvalidOperationException($"validation returned no \"{options.SelectionMetric}\" metric");
                isBest = best is null || value > best;
                if (isBest) best = value;
            }
            double seconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
            var summary = new EpochSummary(epoch, iteration, sums.MeanLoss, rate, seconds, metrics, isBest,
                sums.PartNames.Count == 0 ? null : sums.MeanParts());
            State = State with
            {
                Epoch = epoch,
                Iteration = iteration,
                BestMetric = best,
                BestEpoch = isBest ? epoch : State.BestEpoch,
                Seconds = State.Seconds - secondsBefore + seconds,
                History = [.. State.History, summary],
                Partial = null,
            };
            WriteCheckpoints(isBest);
            WriteMetricsLog();
            GC.Collect();
            EpochCompleted?.Invoke(summary);
        }

        TrainingCurvesPlot.Save(State.History, options.SelectionMetric, CurvesPath);
        return State;
    }

    public void Dispose() => optimizer.Dispose();

    /// <summary>One optimizer step; the loss and its named parts as numbers.</summary>
    (double Total, (string Name, double Value)[] Parts) Step(TBatch batch, double rate)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = rate;
        optimizer.zero_grad();
        using var value = loss(batch);
        value.Total.backward();
        optimizer.step();
        var (total, parts) = value.Values();
        return (total, [.. value.Parts.Select((p, i) => (p.Name, parts[i]))]);
    }

    IReadOnlyDictionary<string, double> Validate()
    {
        if (validate is null)
            return new Dictionary<string, double>();
        model.eval();
        KillSwitch.Point(KillSwitch.Validation);
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return validate();
        }
        finally
        {
            model.train();
        }
    }

    /// <summary>
    /// best.ckpt before last.ckpt: a crash between the two leaves last.ckpt one epoch behind, so the resumed
    /// run redoes that epoch and writes both again; the other order could leave a state claiming a best
    /// epoch whose best.ckpt was never written.
    /// </summary>
    void WriteCheckpoints(bool isBest)
    {
        if (!isBest)
        {
            WriteLastCheckpoint();
            return;
        }
        Checkpoint.Write(BestCheckpointPath, CheckpointContent(), model, optimizer);
        AtomicFile.Write(LastCheckpointPath, stream =>
        {
            using var best = File.OpenRead(BestCheckpointPath);
            best.CopyTo(stream);
        });
    }

    /// <summary>A run whose loss stops being a number is the options' or the data's doing (a learning rate too
    /// high, a broken label), not a defect: a one-line user error naming the run, which keeps its last checkpoint.</summary>
    string Diverged((double Total, (string Name, double Value)[] Parts) values, long iteration)
    {
        var parts = values.Parts.Length > 1 ? $" ({string.Join(", ", values.Parts.Select(p => $"{p.Name} {p.Value:G4}"))})" : "";
        var kept = State.Epoch > 0 ? $"{Trainer.LastCheckpointName} keeps epoch {State.Epoch}" : "no epoch has finished yet";
        return $"training diverged: loss is {values.Total}{parts} at iteration {iteration}; {kept}; lower --lr (or check the data)";
    }

    /// <summary>last.ckpt inside an epoch, after <paramref name="iteration"/> steps in all.</summary>
    void WritePartialCheckpoint(long iteration, EpochSums sums, double seconds)
    {
        using var rng = torch.get_rng_state();
        var state = Convert.ToBase64String(TensorValues.ToArray<byte>(rng));
        double before = State.Partial?.Seconds ?? 0;
        State = State with
        {
            Iteration = iteration,
            Seconds = State.Seconds - before + seconds,
            Partial = new PartialEpoch(sums.Steps, sums.LossSum, sums.PartSumsByName(), seconds, state),
        };
        WriteLastCheckpoint();
    }

    void WriteLastCheckpoint() => Checkpoint.Write(LastCheckpointPath, CheckpointContent(), model, optimizer);

    JsonObject CheckpointContent()
    {
        var content = (JsonObject)header.DeepClone();
        content["training"] = State.ToJson();
        return content;
    }

    /// <summary>Puts torch's CPU generator back where a partial-epoch checkpoint left it (checked by <see cref="Restore"/>).</summary>
    static void SetTorchRngState(string base64)
    {
        using var state = torch.tensor(Convert.FromBase64String(base64), ScalarType.Byte);
        torch.set_rng_state(state);
    }

    void WriteMetricsLog()
    {
        var text = new StringBuilder();
        foreach (var epoch in State.History)
            text.Append(JsonSerializer.Serialize(epoch, TrainingOptions.Json)).Append('\n');
        AtomicFile.WriteAllText(MetricsLogPath, text.ToString());
    }

    /// <summary>Weights get weight decay; biases and normalisation parameters (rank &lt;= 1) do not.</summary>
    static OptimizerHelper CreateOptimizer(nn.Module model, TrainingOptions options)
    {
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        var decayed = parameters.Where(p => p.dim() > 1).ToList();
        var undecayed = parameters.Where(p => p.dim() <= 1).ToList();
        double lr = options.LearningRate;
        return options.Optimizer switch
        {
            OptimizerKind.Sgd => new SGD(
                [new SGD.ParamGroup(decayed, lr, options.Momentum, weight_decay: options.WeightDecay),
                 new SGD.ParamGroup(undecayed, lr, options.Momentum, weight_decay: 0)],
                lr, options.Momentum),
            OptimizerKind.AdamW => new AdamW(
                [new AdamW.ParamGroup(decayed, lr, weight_decay: options.WeightDecay),
                 new AdamW.ParamGroup(undecayed, lr, weight_decay: 0)],
                lr),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Optimizer, "unknown optimizer"),
        };
    }

    static long EpochSeed(int seed, int epoch) => ((long)(uint)seed << 32) | (uint)epoch;

    /// <summary>Running sums of an epoch's losses (started from a checkpoint's partial epoch when resuming inside one).</summary>
    sealed class EpochSums
    {
        readonly List<string> partNames = [];
        readonly List<double> partSums = [];

        public EpochSums(PartialEpoch? partial)
        {
            if (partial is null)
                return;
            Steps = partial.Steps;
            LossSum = partial.LossSum;
            foreach (var (name, sum) in partial.LossPartSums)
            {
                partNames.Add(name);
                partSums.Add(sum);
            }
        }

        public int Steps { get; private set; }

        public double LossSum { get; private set; }

        public IReadOnlyList<string> PartNames => partNames;

        public double MeanLoss => Steps == 0 ? double.NaN : LossSum / Steps;

        public void Add(double loss, (string Name, double Value)[] parts)
        {
            Steps++;
            LossSum += loss;
            foreach (var (name, value) in parts)
            {
                int at = partNames.IndexOf(name);
                if (at < 0)
                {
                    partNames.Add(name);
                    partSums.Add(0);
                    at = partNames.Count - 1;
                }
                partSums[at] += value;
            }
        }

        public IReadOnlyDictionary<string, double> MeanParts() =>
            partNames.Select((name, i) => (name, partSums[i] / Steps)).ToDictionary(p => p.name, p => p.Item2);

        public IReadOnlyDictionary<string, double> PartSumsByName() =>
            partNames.Select((name, i) => (name, partSums[i])).ToDictionary(p => p.name, p => p.Item2);
    }
}
