using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Inference;
using PixelBox.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>Training-time augmentation of a detection run (YOLO style; see <see cref="DetectionAugmentation"/>).</summary>
public sealed record DetectionAugmentationOptions
{
    /// <summary>False: images are only letterboxed to the input size.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Probability that a training image is a mosaic of four.</summary>
    public double Mosaic { get; init; } = 1.0;

    /// <summary>The last epochs train without mosaic (ultralytics' close_mosaic), on images as they come.</summary>
    public int CloseMosaicEpochs { get; init; } = 10;

    public double MinScale { get; init; } = 0.5;

    public double MaxScale { get; init; } = 1.5;

    public double FlipProbability { get; init; } = 0.5;

    public double Hue { get; init; } = 0.015;

    public double Saturation { get; init; } = 0.7;

    public double Value { get; init; } = 0.4;

    /// <summary>Boxes keeping less of their area than this after cropping are dropped.</summary>
    public double MinVisibility { get; init; } = 0.25;
}

/// <summary>How a detection run gets its data: the "task" part of its checkpoints.</summary>
public sealed record DetectionTaskOptions
{
    /// <summary>Dataset root in <see cref="Format"/>.</summary>
    public required string DataRoot { get; init; }

    /// <summary>coco, voc, yolo or shapes (<see cref="DetectionFormats"/>).</summary>
    public required string Format { get; init; }

    public required string ModelName { get; init; }

    public string TrainSplit { get; init; } = "train";

    public string ValSplit { get; init; } = "val";

    /// <summary>Side of the square network input (the model's settings), in pixels.</summary>
    public int ImageSize { get; init; } = 640;

    public int BatchSize { get; init; } = 16;

    public DetectionAugmentationOptions Augmentation { get; init; } = new();

    /// <summary>Threads that decode and augment images while the model trains (and letterbox validation images).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>How the validation each epoch runs the model (training is float32); float32 for runs stored without it.</summary>
    public Precision ValidationPrecision { get; init; } = Precision.Fp32;
}

/// <summary>
/// The detection side of training: opens a dataset in any detection format, builds the registry model with
/// its settings at the chosen input size, feeds the task-agnostic <see cref="Trainer"/> with seeded augmented
/// batches and the model's named losses (e.g. box, cls, dfl), and validates every epoch with the COCO
/// evaluator in memory (best checkpoint by AP@[.5:.95]). Checkpoints carry the model description
/// (<see cref="DetectionModelInfo"/>) and the task options, so <see cref="Resume"/> needs only the run folder.
/// </summary>
public sealed class DetectionTraining : IDisposable
{
    /// <summary>The validation metric that chooses best.ckpt.</summary>
    public const string SelectionMetric = "ap";

    DetectionTraining(DetectionTaskOptions task, TrainingOptions training, string outDir, Checkpoint? resumeFrom)
    {
        task = task with { DataRoot = Path.GetFullPath(task.DataRoot) };
        Validate(task);
        Task = task;
        var format = DetectionFormats.Get(task.Format);
        var issues = new IssueLog();
        Dataset = DetectionFormats.Open(task.DataRoot, task.Format, issues);
        Warnings = issues.Issues;
        var trainSet = new DetectionImageSet(Dataset, task.TrainSplit);
        var valSet = new DetectionImageSet(Dataset, task.ValSplit);
        if (trainSet.Count == 0)
            throw new InputException(task.DataRoot, $"the {task.TrainSplit} split has no images");
        if (valSet.Count == 0)
            throw new InputException(task.DataRoot, $"the {task.ValSplit} split has no images to validate on");
        if (Dataset.NumClasses < 1)
            throw new InputException(task.DataRoot, "the dataset names no classes");

        var entry = ModelRegistry.Get(task.ModelName);
        DetectionSettings defaults;
        using (var probe = entry.CreateDetection(Dataset.NumClasses, 3, device: META))
            defaults = probe.Settings;
        Info = new DetectionModelInfo(task.ModelName, Dataset.NumClasses, 3, Dataset.ClassNames,
            format.Carries.CategoryIds ? Dataset.CategoryIds : null, defaults with { InputSize = task.ImageSize });

        torch.manual_seed(training.Seed);
        try
        {
            Model = Info.CreateModel();
        }
        catch (ArgumentException e)
        {
            throw new InputException("--image-size", $"{task.ModelName}: {e.Message}");
        }
        Validator = new DetectionValidator(valSet, Info, task.BatchSize, task.Workers)
        {
            Inference = task.ValidationPrecision == Precision.Fp32 ? InferenceOptions.Exact : new InferenceOptions(task.ValidationPrecision),
        };
        var data = new AugmentedData(trainSet, task, Info, training);
        if (data.BatchesPerEpoch == 0)
            throw new InputException(task.DataRoot, "training split is empty");

        var header = new JsonObject
        {
            ["model"] = Info.ToJson(),
            ["task"] = JsonSerializer.SerializeToNode(task, TrainingOptions.Json),
        };
        Trainer = new Trainer<DetectionBatch>(Model, Loss, data, training, () => Validator.Metrics(Model), outDir, header);
        if (resumeFrom is not null)
            Trainer.Restore(resumeFrom);
    }

    public DetectionTaskOptions Task { get; }

    public DetectionDataset Dataset { get; }

    /// <summary>What the dataset reader reported without failing (boxes out of bounds, empty images, ...).</summary>
    public IReadOnlyList<DataIssue> Warnings { get; }

    public DetectionModelInfo Info { get; }

    public DetectionModel Model { get; }

    public DetectionValidator Validator { get; }

    public Trainer<DetectionBatch> Trainer { get; }

    /// <summary>A new run writing into <paramref name="outDir"/>; best.ckpt is chosen by AP@[.5:.95].</summary>
    public static DetectionTraining Start(DetectionTaskOptions task, TrainingOptions training, string outDir) =>
        Create(task, training with { SelectionMetric = SelectionMetric }, outDir, null);

    /// <summary>
    /// Continues the run in <paramref name="outDir"/> from its last.ckpt with the stored options, so it ends
    /// as the uninterrupted run would have. <paramref name="dataRoot"/> replaces the stored dataset path
    /// (for a dataset that moved; it must hold the same data).
    /// </summary>
    /// <param name="validationPrecision">Replaces the stored validation precision (validation does not change training).</param>
    public static DetectionTraining Resume(string outDir, string? dataRoot = null, Precision? validationPrecision = null)
    {
        var checkpoint = Checkpoint.Open(Path.Combine(outDir, Training.Trainer.LastCheckpointName));
        DetectionTaskOptions task;
        try
        {
            task = checkpoint.Header["task"].Deserialize<DetectionTaskOptions>(TrainingOptions.Json)
                ?? throw new JsonException("no \"task\" entry");
            if (task.Augmentation is null || string.IsNullOrEmpty(task.Format))
                throw new JsonException("incomplete \"task\" entry");
        }
        catch (JsonException e)
        {
            throw new InputException(checkpoint.Path, $"not a detection training checkpoint ({e.Message})");
        }
        if (dataRoot is not null)
            task = task with { DataRoot = dataRoot };
        if (validationPrecision is { } precision)
            task = task with { ValidationPrecision = precision };
        return Create(task, Training.Trainer.ReadOptions(checkpoint), outDir, checkpoint);
    }

    static DetectionTraining Create(DetectionTaskOptions task, TrainingOptions training, string outDir, Checkpoint? resumeFrom)
    {
        try
        {
            training.Validate();
            return new DetectionTraining(task, training, outDir, resumeFrom);
        }
        catch (ArgumentException e)
        {
            throw new InputException(outDir, $"invalid training options: {e.Message}");
        }
    }

    static void Validate(DetectionTaskOptions task)
    {
        static void Check(bool ok, string what)
        {
            if (!ok) throw new ArgumentException(what);
        }
        var a = task.Augmentation;
        Check(task.BatchSize >= 1, $"batch size must be positive (got {task.BatchSize})");
        Check(task.Workers >= 1, $"workers must be positive (got {task.Workers})");
        Check(task.ImageSize is >= 8 and <= 8192, $"image size must be in [8, 8192] (got {task.ImageSize})");
        Check(a.Mosaic is >= 0 and <= 1, $"mosaic probability must be in [0, 1] (got {a.Mosaic})");
        Check(a.FlipProbability is >= 0 and <= 1, $"flip probability must be in [0, 1] (got {a.FlipProbability})");
        Check(a.MinScale > 0 && a.MaxScale >= a.MinScale, $"scales must satisfy 0 < min <= max (got {a.MinScale} and {a.MaxScale})");
        Check(a.CloseMosaicEpochs >= 0, $"close-mosaic epochs must be >= 0 (got {a.CloseMosaicEpochs})");
        Check(a.Hue is >= 0 and <= 1 && a.Saturation is >= 0 and <= 1 && a.Value is >= 0 and <= 1, "colour jitter gains must be in [0, 1]");
        Check(a.MinVisibility is >= 0 and <= 1, $"minimum visibility must be in [0, 1] (got {a.MinVisibility})");
    }

    public TrainingState Run(CancellationToken cancellation = default) => Trainer.Run(cancellation);

    TrainingLoss Loss(DetectionBatch batch) => TrainingLoss.Sum([.. Model.Losses(batch.Images, batch.Targets)]);

    public void Dispose()
    {
        Trainer.Dispose();
        Model.Dispose();
    }

    /// <summary>
    /// Augmented training batches: with mosaic until the last <see cref="DetectionAugmentationOptions.CloseMosaicEpochs"/>
    /// epochs, without it after (both loaders seeded alike, so an epoch's batches depend only on the epoch).
    /// </summary>
    sealed class AugmentedData : ITrainingData<DetectionBatch>
    {
        readonly DetectionBatchLoader withMosaic;
        readonly DetectionBatchLoader withoutMosaic;
        readonly int lastMosaicEpoch;

        public AugmentedData(DetectionImageSet trainSet, DetectionTaskOptions task, DetectionModelInfo info, TrainingOptions training)
        {
            var a = task.Augmentation;
            DetectionAugmentation? Augmentation(double mosaic) => a.Enabled
                ? new DetectionAugmentation(task.ImageSize)
                {
                    MosaicProbability = mosaic,
                    MinScale = a.MinScale,
                    MaxScale = a.MaxScale,
                    FlipProbability = a.FlipProbability,
                    Colour = new ColourJitter(a.Hue, a.Saturation, a.Value),
                    MinVisibility = a.MinVisibility,
                }
                : null;
            DetectionBatchLoader Loader(double mosaic) => new(trainSet, task.BatchSize, task.ImageSize, info.Settings.Normalization,
                Augmentation(mosaic), shuffle: true, seed: training.Seed, dropLast: trainSet.Count >= task.BatchSize, workers: task.Workers);
            withMosaic = Loader(a.Mosaic);
            withoutMosaic = Loader(0);
            int epochs = training.TotalEpochs(withMosaic.BatchesPerEpoch);
            lastMosaicEpoch = a.Enabled && a.Mosaic > 0 ? epochs - a.CloseMosaicEpochs : 0;
        }

        public int BatchesPerEpoch => withMosaic.BatchesPerEpoch;

        public IEnumerable<DetectionBatch> Epoch(int epoch, int skip)
        {
            var loader = epoch <= lastMosaicEpoch ? withMosaic : withoutMosaic;
            int index = 0;
            foreach (var batch in loader.Epoch(epoch))
            {
                if (index++ < skip)
                {
                    batch.Dispose();
                    continue;
                }
                yield return batch;
            }
        }
    }
}
