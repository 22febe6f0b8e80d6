using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using TorchSharp;

namespace PixelBox.Training;

/// <summary>
/// Scores a detection model on a fixed split with the COCO evaluator, in memory: each image goes through
/// the model's own pre-processing (<see cref="DetectionPredictor"/>), its detections are mapped back to
/// its pixels and compared with the split's ground truth (crowd regions included) exactly as
/// <c>pixelbox eval coco</c> would compare the written files.
/// </summary>
public sealed class DetectionValidator
{
    readonly DetectionImageSet images;
    readonly DetectionModelInfo info;
    readonly int batchSize;
    readonly int workers;

    public DetectionValidator(DetectionImageSet images, DetectionModelInfo info, int batchSize = 16, int workers = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        if (images.Count == 0)
            throw new ArgumentException("no validation images", nameof(images));
        this.images = images;
        this.info = info;
        this.batchSize = batchSize;
        this.workers = workers;
        ImageIds = [.. images.Images.Select(i => i.Id)];
        GroundTruth = DetectionCoco.GroundTruth(images.Images, info.ClassNames, info.CategoryOf);
    }

    /// <summary>COCO image id of each validation image, in split order.</summary>
    public IReadOnlyList<long> ImageIds { get; }

    public CocoGroundTruth GroundTruth { get; }

    /// <summary>How the model is run: float32 as it is (the default), or a bf16 / channels-last copy of it.</summary>
    public InferenceOptions Inference { get; init; } = InferenceOptions.Exact;

    /// <summary>Detections of every validation image (in its pixels) by <paramref name="model"/> in eval mode,
    /// run as <see cref="Inference"/> says (a converted copy when that is not float32 NCHW; the model is left as it is).</summary>
    public IReadOnlyList<ImageDetections> Predict(DetectionModel model)
    {
        var precision = InferencePrecision.Resolve(Inference.Precision);
        bool channelsLast = Inference.UsesChannelsLast(info.Name);
        if (precision == Precision.Fp32 && !channelsLast)
            return Predict(new DetectionPredictor(model, info));
        using var copy = Copy(model);
        var predictor = new DetectionPredictor(copy, info);
        predictor.Convert(precision, channelsLast);
        return Predict(predictor);
    }

    /// <summary>A copy of the model's weights in a new model of the same description; torch's global generator is
    /// restored, so validating does not change the training run.</summary>
    DetectionModel Copy(DetectionModel model)
    {
        DetectionModel copy;
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

    IReadOnlyList<ImageDetections> Predict(DetectionPredictor predictor)
    {
        var result = new List<ImageDetections>(images.Count);
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers };
        for (int start = 0; start < images.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, images.Count - start);
            var inputs = new DetectionSample[n];
            var transforms = new LetterboxTransform[n];
            Parallel.For(0, n, options, j =>
            {
                var sample = images[start + j];
                (inputs[j], transforms[j]) = predictor.Prepare(new RgbImage(sample.Width, sample.Height, sample.Image), sample.Id);
            });
            using var batch = DetectionBatchLoader.Collate(inputs, info.Settings.Normalization);
            result.AddRange(predictor.Predict(batch.Images, transforms));
        }
        return result;
    }

    /// <summary>The detections as COCO results (see <see cref="DetectionCoco.Results"/>).</summary>
    public CocoDetections Results(IReadOnlyList<ImageDetections> detections) => DetectionCoco.Results(ImageIds, detections, info.CategoryOf);

    /// <summary>Predicts and names the numbers: ap, ap50, ap75, ap_small, ap_medium, ap_large and ap/&lt;class name&gt;.</summary>
    public IReadOnlyDictionary<string, double> Metrics(DetectionModel model) => Summarize(GroundTruth, Results(Predict(model)));

    /// <summary>COCO's AP summary (-1 where a range has no ground truth, as pycocotools) and each class's AP@[.5:.95].</summary>
    public static IReadOnlyDictionary<string, double> Summarize(CocoGroundTruth groundTruth, CocoDetections results)
    {
        var evaluation = new CocoEvaluator(groundTruth, results).Evaluate();
        var accumulation = evaluation.Accumulate();
        var stats = accumulation.Summarize().Stats;
        var metrics = new Dictionary<string, double>
        {
            ["ap"] = stats[0],
            ["ap50"] = stats[1],
            ["ap75"] = stats[2],
            ["ap_small"] = stats[3],
            ["ap_medium"] = stats[4],
            ["ap_large"] = stats[5],
        };
        var names = groundTruth.Categories.ToDictionary(c => c.Id, c => c.Name);
        for (int k = 0; k < accumulation.K; k++)
            metrics[$"ap/{names[accumulation.CategoryIds[k]]}"] = accumulation.Mean(true, k: k);
        return metrics;
    }
}
