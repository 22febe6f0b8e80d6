using System.Text.Json;
using System.Text.Json.Serialization;

namespace PixelBox.Training;

public enum OptimizerKind
{
    /// <summary>SGD with (heavy-ball) momentum and L2 weight decay.</summary>
    Sgd,

    /// <summary>Adam with decoupled weight decay (Loshchilov and Hutter).</summary>
    AdamW,
}

/// <summary>
/// Everything that decides the numbers a run produces. It is stored in every checkpoint, and a resumed
/// run uses the stored copy so that the schedule and data order match the interrupted run.
/// </summary>
public sealed record TrainingOptions
{
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.AdamW;

    public double LearningRate { get; init; } = 1e-3;

    /// <summary>SGD momentum (AdamW uses beta1 = 0.9, beta2 = 0.999).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Applied to weights only: biases and normalisation parameters (tensors of rank &lt;= 1) are not decayed.</summary>
    public double WeightDecay { get; init; } = 1e-4;

    public ScheduleKind Schedule { get; init; } = ScheduleKind.Poly;

    public double PolyPower { get; init; } = 0.9;

    public double MinLearningRate { get; init; }

    public int WarmupIterations { get; init; }

    /// <summary>Passes over the training data; ignored when <see cref="Iterations"/> is positive.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>When positive, the run length in optimizer steps (the last epoch may be partial).</summary>
    public long Iterations { get; init; }

    /// <summary>Seeds the data order, augmentation and random layers of every epoch.</summary>
    public int Seed { get; init; }

    /// <summary>Validation metric (higher is better) that decides which epoch is written to best.ckpt.</summary>
    public string SelectionMetric { get; init; } = "mean_iou";

    public long TotalIterations(int batchesPerEpoch)
    {
        if (batchesPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(batchesPerEpoch), batchesPerEpoch, "no training batches");
        return Iterations > 0 ? Iterations : (long)Epochs * batchesPerEpoch;
    }

    public int TotalEpochs(int batchesPerEpoch) =>
        (int)((TotalIterations(batchesPerEpoch) + batchesPerEpoch - 1) / batchesPerEpoch);

    public LearningRateSchedule ScheduleFor(long totalIterations) =>
        new(Schedule, LearningRate, totalIterations, PolyPower, MinLearningRate, WarmupIterations);

    /// <summary>Rejects option values no run can use, naming the option.</summary>
    public void Validate()
    {
        static void Check(bool ok, string what)
        {
            if (!ok) throw new ArgumentException(what);
        }
        Check(LearningRate > 0 && double.IsFinite(LearningRate), $"learning rate must be positive (got {LearningRate})");
        Check(MinLearningRate >= 0 && MinLearningRate <= LearningRate, $"minimum learning rate must be in [0, {LearningRate}] (got {MinLearningRate})");
        Check(Momentum >= 0 && Momentum < 1, $"momentum must be in [0, 1) (got {Momentum})");
        Check(WeightDecay >= 0, $"weight decay must be >= 0 (got {WeightDecay})");
        Check(PolyPower > 0, $"poly power must be positive (got {PolyPower})");
        Check(WarmupIterations >= 0, $"warmup iterations must be >= 0 (got {WarmupIterations})");
        Check(Iterations > 0 || Epochs > 0, "give a positive number of epochs or iterations");
        Check(!string.IsNullOrWhiteSpace(SelectionMetric), "selection metric must be named");
    }

    /// <summary>Serialisation used for checkpoints and logs: snake_case names, enums as lower-case strings.</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        // A metric can be undefined (IoU of a class absent from ground truth and prediction).
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };
}
