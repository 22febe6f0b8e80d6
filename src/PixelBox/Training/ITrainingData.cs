using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>An input tensor and a target tensor: one optimizer step's worth of data for tasks whose targets
/// batch into one tensor (segmentation). The trainer disposes it after the step.</summary>
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
/// sees exactly the batches the uninterrupted run would have seen. The batch type is the task's own;
/// the trainer never looks inside, it only hands each batch to the task's loss and disposes it.
/// </summary>
public interface ITrainingData<TBatch> where TBatch : IDisposable
{
    int BatchesPerEpoch { get; }

    /// <summary>The batches of epoch <paramref name="epoch"/> (1-based) from batch <paramref name="skip"/> on
    /// (a run resumed inside an epoch); the skipped batches need not be loaded.</summary>
    IEnumerable<TBatch> Epoch(int epoch, int skip = 0);
}
