using PixelBox.Data;
using PixelBox.Inference;
using PixelBox.Metrics;
using PixelBox.Models;
using TorchSharp;

namespace PixelBox.Training;

/// <summary>
/// Scores a segmentation model on a fixed set of samples with a <see cref="ConfusionMatrix"/>, predicting
/// each image at its own size (images are batched only with others of the same size, so a prediction
/// never depends on its batch mates).
/// </summary>
public sealed class SegmentationValidator
{
    readonly IReadOnlyList<SegmentationSample> samples;
    readonly SegmentationModelInfo info;
    readonly int batchSize;

    public SegmentationValidator(IReadOnlyList<SegmentationSample> samples, SegmentationModelInfo info, int batchSize = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (samples.Count == 0)
            throw new ArgumentException("no validation samples", nameof(samples));
        this.samples = samples;
        this.info = info;
        this.batchSize = batchSize;
    }

    /// <summary>How the model is run: float32 as it is (the default), or a bf16 / channels-last copy of it.</summary>
    public InferenceOptions Inference { get; init; } = InferenceOptions.Exact;

    /// <summary>The confusion matrix of <paramref name="model"/> (in eval mode) over all samples.</summary>
    public ConfusionMatrix Evaluate(SegmentationModel model)
    {
        bool channelsLast = Inference.UsesChannelsLast(info.Name);
        if (InferencePrecision.Resolve(Inference.Precision) == Precision.Fp32 && !channelsLast)
            return EvaluateAsIs(model);
        using var copy = InferenceSegmentationModel.Wrap(Copy(model), Inference.Precision, channelsLast);
        return EvaluateAsIs(copy);
    }

    /// <summary>A copy of the model's weights in a new model of the same description (the training model is
    /// left as it is); torch's global generator is restored, so validating does not change the training run.</summary>
    SegmentationModel Copy(SegmentationModel model)
    {
        SegmentationModel copy;
        using (var generator = torch.get_rng_state())
        {
            copy = info.CreateModel();
            torch.set_rng_state(generator);
        }
        using (torch.no_grad())
            copy.load_state_dict(model.state_dict());
        copy.eval();
        return copy;
    }

    ConfusionMatrix EvaluateAsIs(SegmentationModel model)
    {
        var matrix = new ConfusionMatrix(info.NumClasses, info.IgnoreIndex);
        var predictor = new SegmentationPredictor(model, info);
        var bySize = Enumerable.Range(0, samples.Count)
            .Select(i => (Index: i, Sample: samples[i]))
            .GroupBy(s => (s.Sample.Width, s.Sample.Height));
        foreach (var group in bySize)
        {
            foreach (var chunk in group.Chunk(batchSize))
            {
                using var batch = SegmentationBatchLoader.Collate(chunk.Select(c => c.Sample).ToList(), info.Normalization,
                    ignoreIndex: (byte)info.IgnoreIndex);
                using var labels = predictor.PredictLabels(batch.Images);
                matrix.Update(batch.Masks, labels);
            }
        }
        return matrix;
    }

    /// <summary>Evaluates and names the numbers: pixel_accuracy, mean_iou and iou/&lt;class name&gt; per class.</summary>
    public IReadOnlyDictionary<string, double> Metrics(SegmentationModel model) => Summarize(Evaluate(model), info.ClassNames);

    public static IReadOnlyDictionary<string, double> Summarize(ConfusionMatrix matrix, IReadOnlyList<string> classNames)
    {
        var metrics = new Dictionary<string, double>
        {
            ["pixel_accuracy"] = matrix.PixelAccuracy,
            ["mean_iou"] = matrix.MeanIoU,
        };
        var iou = matrix.IoU;
        for (int c = 0; c < iou.Length; c++)
            metrics[$"iou/{classNames[c]}"] = iou[c];
        return metrics;
    }
}
