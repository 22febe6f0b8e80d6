using System.Text.Json;
using System.Text.Json.Nodes;

namespace PixelBox.Training;

/// <summary>Where a run stands after a completed epoch; the "training" part of a checkpoint header.</summary>
public sealed record TrainingState
{
    public required TrainingOptions Options { get; init; }

    /// <summary>Epochs completed.</summary>
    public int Epoch { get; init; }

    /// <summary>Optimizer steps completed.</summary>
    public long Iteration { get; init; }

    /// <summary>Best value of the selection metric so far (null before any validation).</summary>
    public double? BestMetric { get; init; }

    public int BestEpoch { get; init; }

    /// <summary>Wall time spent in this run so far, summed over sessions.</summary>
    public double Seconds { get; init; }

    public IReadOnlyList<EpochSummary> History { get; init; } = [];

    /// <summary>Progress inside the epoch after <see cref="Epoch"/> when the run stopped there (Ctrl+C); null at an epoch's end.</summary>
    public PartialEpoch? Partial { get; init; }

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, TrainingOptions.Json)!.AsObject();

    /// <summary>Reads and checks the "training" part of a checkpoint; every problem is an InputException naming <paramref name="source"/>.</summary>
    public static TrainingState FromJson(JsonObject json, string source)
    {
        TrainingState state;
        try
        {
            state = json.Deserialize<TrainingState>(TrainingOptions.Json)
                ?? throw new JsonException("null training state");
            if (state.Options is null || state.History is null || state.History.Any(e => e?.Metrics is null))
                throw new JsonException("options or history missing");
            if (state.Epoch < 0 || state.Iteration < 0 || state.BestEpoch < 0 || !(state.Seconds >= 0))
                throw new JsonException($"negative progress (epoch {state.Epoch}, iteration {state.Iteration}, best epoch {state.BestEpoch}, seconds {state.Seconds})");
            if (state.Partial is { } partial && (partial.Steps < 0 || partial.LossPartSums is null
                    || partial.TorchRngState is null || !Convert.TryFromBase64String(partial.TorchRngState, new byte[partial.TorchRngState.Length], out _)))
                throw new JsonException("malformed partial epoch");
            state.Options.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new InputException(source, $"corrupt training state in checkpoint ({e.Message.Split('\n')[0]})");
        }
        return state;
    }
}

/// <summary>
/// Where a run stopped inside an epoch: enough to continue it exactly (the data source skips the
/// batches done, torch's generator gets its state back) and to finish the epoch's averages.
/// </summary>
/// <param name="Steps">Steps of the epoch already taken.</param>
/// <param name="LossSum">Sum of their losses.</param>
/// <param name="LossPartSums">Sums of their named loss parts.</param>
/// <param name="Seconds">Wall time spent in the epoch so far.</param>
/// <param name="TorchRngState">torch's CPU generator state after the last step (base64).</param>
public sealed record PartialEpoch(
    int Steps,
    double LossSum,
    IReadOnlyDictionary<string, double> LossPartSums,
    double Seconds,
    string TorchRngState);
