namespace PixelBox.Training;

/// <summary>Reported after every optimizer step.</summary>
/// <param name="Epoch">1-based epoch the step belongs to.</param>
/// <param name="Epochs">Number of epochs in the run.</param>
/// <param name="Iteration">Steps completed in the whole run (1-based count).</param>
/// <param name="TotalIterations">Steps in the whole run.</param>
/// <param name="Loss">Loss of this step's batch.</param>
/// <param name="EpochLoss">Mean loss of the epoch so far.</param>
/// <param name="LearningRate">Rate used for this step.</param>
/// <param name="IterationsPerSecond">Throughput over the steps of this session (excluding validation).</param>
/// <param name="Remaining">Estimated time to the end of training, excluding validation.</param>
/// <param name="EpochLossParts">Mean of each named loss part over the epoch so far (empty for a single-term loss).</param>
public sealed record IterationProgress(
    int Epoch,
    int Epochs,
    long Iteration,
    long TotalIterations,
    double Loss,
    double EpochLoss,
    double LearningRate,
    double IterationsPerSecond,
    TimeSpan Remaining,
    IReadOnlyDictionary<string, double> EpochLossParts);

/// <summary>One line of metrics.jsonl and one entry of the history kept in checkpoints.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Iteration">Steps completed at the end of the epoch.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's steps.</param>
/// <param name="LearningRate">Rate of the epoch's last step.</param>
/// <param name="Seconds">Wall time of the epoch including validation.</param>
/// <param name="Metrics">Validation metrics by name (empty without a validator).</param>
/// <param name="IsBest">Whether this epoch set a new best selection metric (and was written to best.ckpt).</param>
/// <param name="LossParts">Mean of each named loss part over the epoch's steps; null for a single-term loss.</param>
public sealed record EpochSummary(
    int Epoch,
    long Iteration,
    double TrainLoss,
    double LearningRate,
    double Seconds,
    IReadOnlyDictionary<string, double> Metrics,
    bool IsBest,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyDictionary<string, double>? LossParts = null);
