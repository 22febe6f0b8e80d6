using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>One optimizer step's worth of data. The trainer disposes it after the step.</summary>
public sealed class TrainingBatch(Tensor input, Tensor target) : IDisposable
{
    public Tensor Input { get; } = input;

    public Tensor Target { get; } = target;

    public void Dispose()
    {
        Input.Dispose();
        Target.Dispose();
    }
}

/// <summary>
/// Training data as the trainer sees it: a fixed number of batches per epoch, and for each epoch a
/// sequence that depends only on the epoch number (and the source's own seed), so that a resumed run
/// sees exactly the batches the uninterrupted run would have seen.
/// </summary>
public interface ITrainingData
{
    int BatchesPerEpoch { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (1-based).</summary>
    IEnumerable<TrainingBatch> Epoch(int epoch);
}
