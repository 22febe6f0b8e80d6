using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Visualization;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>
/// Trains any module on any task: it knows a model, a loss, batches per epoch and a validation callback
/// that returns named metrics, nothing about images or classes. Each epoch it validates, writes
/// last.ckpt (and best.ckpt when the selection metric improves) atomically with the optimizer state,
/// rewrites metrics.jsonl, and at the end draws curves.png.
/// </summary>
/// <remarks>
/// A resumed run (<see cref="Restore"/>) continues exactly: the learning rate is a pure function of the
/// iteration, the data and torch's random generator are re-seeded from (seed, epoch) at every epoch,
/// and model buffers and optimizer state come from the checkpoint.
/// </remarks>
public sealed class Trainer : IDisposable
{
    public const string LastCheckpointName = "last.ckpt";
    public const string BestCheckpointName = "best.ckpt";
    public const string MetricsLogName = "metrics.jsonl";
    public const string CurvesName = "curves.png";

    readonly nn.Module<Tensor, Tensor> model;
    readonly Func<Tensor, Tensor, Tensor> loss;
    readonly ITrainingData data;
    readonly Func<nn.Module<Tensor, Tensor>, IReadOnlyDictionary<string, double>>? validate;
    readonly JsonObject header;
    readonly OptimizerHelper optimizer;
    readonly LearningRateSchedule schedule;

    /// <param name="model">Trained in place.</param>
    /// <param name="loss">(model output, batch target) -> scalar loss.</param>
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
        nn.Module<Tensor, Tensor> model,
        Func<Tensor, Tensor, Tensor> loss,
        ITrainingData data,
        TrainingOptions options,
        Func<nn.Module<Tensor, Tensor>, IReadOnlyDictionary<string, double>>? validate,
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

    public string LastCheckpointPath => Path.Combine(OutputDirectory, LastCheckpointName);

    public string BestCheckpointPath => Path.Combine(OutputDirectory, BestCheckpointName);

    public string MetricsLogPath => Path.Combine(OutputDirectory, MetricsLogName);

    public string CurvesPath => Path.Combine(OutputDirectory, CurvesName);

    /// <summary>Raised after every optimizer step.</summary>
    public event Action<IterationProgress>? IterationCompleted;

    /// <summary>Raised after every epoch's validation and checkpoint.</summary>
    public event Action<EpochSummary>? EpochCompleted;

    /// <summary>
    /// Loads model, optimizer and progress from a checkpoint this trainer's configuration wrote, so that
    /// <see cref="Run"/> continues where it stopped. The checkpoint's training options must equal this
    /// trainer's (construct the trainer from <see cref="ReadOptions"/> to guarantee that), except for the run's
    /// length (epochs, iterations): a longer run extends the stored one, with the learning-rate schedule
    /// computed for the new length.
    /// </summary>
    public void Restore(Checkpoint checkpoint)
    {
        var training = checkpoint.Training ?? throw new InputException(checkpoint.Path, "checkpoint holds no training state");
        var restored = TrainingState.FromJson(training, checkpoint.Path);
        if ((restored.Options with { Epochs = State.Options.Epochs, Iterations = State.Options.Iterations }) != State.Options)
            throw new InputException(checkpoint.Path, "was written with different training options; resume with the stored options");
        if (restored.Options != State.Options)
            CheckExtension(restored, checkpoint.Path);
        checkpoint.LoadModel(model);
        checkpoint.LoadOptimizer(optimizer);
        State = restored with { Options = State.Options };
        // metrics.jsonl may hold epochs past the checkpoint (or miss the last one after a crash): the
        // checkpoint's history is the truth.
        WriteMetricsLog();
    }

    /// <summary>A new length must not undo finished steps, and epochs must stay whole: a run that stopped inside an
    /// epoch (its length was a number of iterations) would restart that epoch's batches at the wrong place.</summary>
    void CheckExtension(TrainingState restored, string source)
    {
        if (TotalIterations < restored.Iteration)
            throw new InputException(source,
                $"the run has already trained {restored.Iteration} steps ({restored.Epoch} epochs); a length of {TotalIterations} steps ({TotalEpochs} epochs) cannot shorten it");
        if (restored.Iteration != (long)restored.Epoch * data.BatchesPerEpoch)
            throw new InputException(source,
                $"the run stopped inside epoch {restored.Epoch} (step {restored.Iteration}, {data.BatchesPerEpoch} steps per epoch), so it cannot be given a new length; start a new run");
    }

    /// <summary>The training options stored in a checkpoint, for building a trainer that can resume it.</summary>
    public static TrainingOptions ReadOptions(Checkpoint checkpoint)
    {
        var training = checkpoint.Training ?? throw new InputException(checkpoint.Path, "checkpoint holds no training state");
        return TrainingState.FromJson(training, checkpoint.Path).Options;
    }

    /// <summary>Trains until the end of the run. Cancellation stops after the current step, leaving the
    /// last completed epoch in last.ckpt, and throws OperationCanceledException.</summary>
    public TrainingState Run(CancellationToken cancellation = default)
    {
        OutputPaths.CreateFolder(OutputDirectory);
        var options = State.Options;
        var trainClock = new Stopwatch();
        long sessionSteps = 0;

        for (int epoch = State.Epoch + 1; epoch <= TotalEpochs; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            torch.manual_seed(EpochSeed(options.Seed, epoch));
            model.train();
            long iteration = State.Iteration;
            long epochEnd = Math.Min(TotalIterations, (long)epoch * data.BatchesPerEpoch);
            double lossSum = 0, rate = 0;
            int steps = 0;
            trainClock.Start();
            using (var batches = data.Epoch(epoch).GetEnumerator())
            {
                while (iteration < epochEnd)
                {
                    cancellation.ThrowIfCancellationRequested();
                    if (!batches.MoveNext())
                        throw new InvalidOperationException(
                            $"epoch {epoch} yielded {steps} batches, fewer than the announced {data.BatchesPerEpoch}");
                    rate = schedule.At(iteration);
                    double value;
                    using (var batch = batches.Current)
                        value = Step(batch, rate);
                    if (!double.IsFinite(value))
                        throw new InvalidOperationException(
                            $"training diverged: loss is {value} at iteration {iteration + 1}; lower the learning rate");
                    iteration++;
                    steps++;
                    sessionSteps++;
                    lossSum += value;
                    double perSecond = sessionSteps / Math.Max(trainClock.Elapsed.TotalSeconds, 1e-9);
                    IterationCompleted?.Invoke(new IterationProgress(
                        epoch, TotalEpochs, iteration, TotalIterations, value, lossSum / steps, rate, perSecond,
                        TimeSpan.FromSeconds((TotalIterations - iteration) / perSecond)));
                }
            }
            trainClock.Stop();

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
            var summary = new EpochSummary(epoch, iteration, lossSum / steps, rate, epochClock.Elapsed.TotalSeconds, metrics, isBest);
            State = State with
            {
                Epoch = epoch,
                Iteration = iteration,
                BestMetric = best,
                BestEpoch = isBest ? epoch : State.BestEpoch,
                Seconds = State.Seconds + epochClock.Elapsed.TotalSeconds,
                History = [.. State.History, summary],
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

    double Step(TrainingBatch batch, double rate)
    {
        using var scope = torch.NewDisposeScope();
        foreach (var group in optimizer.ParamGroups)
            group.LearningRate = rate;
        optimizer.zero_grad();
        using var output = model.forward(batch.Input);
        using var value = loss(output, batch.Target);
        value.backward();
        optimizer.step();
        return value.item<float>();
    }

    IReadOnlyDictionary<string, double> Validate()
    {
        if (validate is null)
            return new Dictionary<string, double>();
        model.eval();
        try
        {
            using var noGrad = torch.no_grad();
            using var scope = torch.NewDisposeScope();
            return validate(model);
        }
        finally
        {
            model.train();
        }
    }

    void WriteCheckpoints(bool isBest)
    {
        var content = (JsonObject)header.DeepClone();
        content["training"] = State.ToJson();
        Checkpoint.Write(LastCheckpointPath, content, model, optimizer);
        if (isBest)
            AtomicFile.Write(BestCheckpointPath, stream =>
            {
                using var last = File.OpenRead(LastCheckpointPath);
                last.CopyTo(stream);
            });
    }

    void WriteMetricsLog()
    {
        var text = new StringBuilder();
        foreach (var epoch in State.History)
            text.Append(JsonSerializer.Serialize(epoch, TrainingOptions.Json)).Append('\n');
        AtomicFile.WriteAllText(MetricsLogPath, text.ToString());
    }

    /// <summary>Weights get weight decay; biases and normalisation parameters (rank &lt;= 1) do not.</summary>
    static OptimizerHelper CreateOptimizer(nn.Module<Tensor, Tensor> model, TrainingOptions options)
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
}
