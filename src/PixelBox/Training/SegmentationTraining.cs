using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Inference;
using PixelBox.Interop;
using PixelBox.Losses;
using PixelBox.Models;
using PixelBox.Models.Backbones;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>How a segmentation run gets its data: the "task" part of its checkpoints.</summary>
public sealed record SegmentationTaskOptions
{
    /// <summary>Dataset root, in the layout <see cref="Format"/> names.</summary>
    public required string DataRoot { get; init; }

    /// <summary>The dataset's layout (<see cref="SegmentationFormats"/>: masks, voc, cityscapes, coco); it gives the classes.
    /// Checkpoints written before formats existed have none and read as "masks".</summary>
    public string Format { get; init; } = SegmentationFormats.Masks.Name;

    public required string ModelName { get; init; }

    /// <summary>Width and depth for unet-same; null for the registry's default size.</summary>
    public ModelSize? ModelSize { get; init; }

    public string TrainSplit { get; init; } = "train";

    public string ValSplit { get; init; } = "val";

    public int BatchSize { get; init; } = 8;

    /// <summary>Side of the square training crops; 0 trains on whole images without scale/crop/flip augmentation.</summary>
    public int CropSize { get; init; }

    public double MinScale { get; init; } = 0.5;

    public double MaxScale { get; init; } = 2.0;

    public bool HorizontalFlip { get; init; } = true;

    public Normalization Normalization { get; init; } = Normalization.ImageNet;

    /// <summary>Mask label left out of loss and metrics.</summary>
    public int IgnoreIndex { get; init; } = MaskFolderDataset.IgnoreLabel;

    /// <summary>Loss name (<see cref="SegmentationLoss.Names"/>).</summary>
    public string Loss { get; init; } = "ce";

    /// <summary>Per-class loss weights ("ce", and alpha of "focal"); null weighs every class 1.</summary>
    public double[]? ClassWeights { get; init; }

    /// <summary>Threads that decode and augment samples while the model trains.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Number format of the validation each epoch (training itself is float32): fp32 validates the
    /// training model as it is; bf16 / auto validate a converted copy, which also picks the best checkpoint.</summary>
    public Precision ValidationPrecision { get; init; } = Precision.Fp32;

    /// <summary>A torchvision ImageNet classifier's state dict (resnet50/101, mobilenet_v3_large, vgg16_bn; .pth/.pt
    /// or .safetensors) loaded into the model's encoder before a new run starts (<see cref="BackboneImport"/>);
    /// null to start from random weights. A resumed run takes its weights from the checkpoint.</summary>
    public string? BackboneWeights { get; init; }
}

/// <summary>
/// The segmentation side of training: opens a dataset of any segmentation format, builds the registry model, feeds the
/// task-agnostic <see cref="Trainer"/> with seeded augmented batches and the chosen loss, and validates with
/// a confusion matrix. Checkpoints carry the model description (<see cref="SegmentationModelInfo"/>) and
/// the task options, so <see cref="Resume"/> needs only the run folder.
/// </summary>
public sealed class SegmentationTraining : IDisposable
{
    readonly nn.Module<Tensor, Tensor, Tensor> loss;

    SegmentationTraining(SegmentationTaskOptions task, TrainingOptions training, string outDir, Checkpoint? resumeFrom, TrainingOptions? storedOptions)
    {
        StoredOptions = storedOptions;
        task = task with { DataRoot = Path.GetFullPath(task.DataRoot) };
        if (task.BatchSize < 1) throw new ArgumentException($"batch size must be positive (got {task.BatchSize})");
        if (task.IgnoreIndex is < 0 or > 255) throw new ArgumentException($"ignore index must be a byte label (got {task.IgnoreIndex})");
        if (task.Workers < 1) throw new ArgumentException($"workers must be at least 1 (got {task.Workers})");
        if (task.CropSize < 0) throw new ArgumentException($"crop size must be 0 (whole images) or positive (got {task.CropSize})");
        Task = task;
        var format = SegmentationFormats.Get(task.Format);
        var trainSet = format.Open(task.DataRoot, task.TrainSplit);
        var valSet = format.Open(task.DataRoot, task.ValSplit);
        Info = new SegmentationModelInfo(task.ModelName, trainSet.ClassNames.Count, 3, trainSet.ClassNames, task.Normalization,
            task.IgnoreIndex, task.ModelSize);
        if (Info.NumClasses < 2)
            throw new InputException(task.DataRoot, $"needs at least two classes, found {Info.NumClasses}");

        if (task.ClassWeights is { } weights && weights.Length != Info.NumClasses)
            throw new InputException("--class-weights", $"{weights.Length} weights for the {Info.NumClasses} classes of {task.DataRoot} ({string.Join(", ", Info.ClassNames)})");
        loss = SegmentationLoss.Create(task.Loss, new SegmentationLossOptions(task.ClassWeights, task.IgnoreIndex));

        torch.manual_seed(training.Seed);
        Model = Info.CreateModel();
        if (resumeFrom is null && task.BackboneWeights is { } backboneWeights)
            BackboneReport = LoadBackbone(Model, backboneWeights);
        CheckInputSizes(task, trainSet);
        Validator = new SegmentationValidator(valSet, Info, task.BatchSize)
        {
            Inference = task.ValidationPrecision == Precision.Fp32 ? InferenceOptions.Exact : new InferenceOptions(task.ValidationPrecision),
        };
        var augmentation = task.CropSize > 0
            ? new SegmentationAugmentation(task.CropSize, task.MinScale, task.MaxScale, task.HorizontalFlip, (byte)task.IgnoreIndex)
            : null;
        var loader = new SegmentationBatchLoader(trainSet, task.BatchSize, task.Normalization, augmentation,
            shuffle: true, seed: training.Seed, dropLast: trainSet.Count >= task.BatchSize, workers: task.Workers,
            ignoreIndex: (byte)task.IgnoreIndex);
        if (loader.BatchesPerEpoch == 0)
            throw new InputException(task.DataRoot, "training split is empty");
        BatchesPerEpoch = loader.BatchesPerEpoch;

        var header = new JsonObject
        {
            ["model"] = Info.ToJson(),
            ["task"] = JsonSerializer.SerializeToNode(task, TrainingOptions.Json),
        };
        Trainer = new Trainer<TrainingBatch>(Model, Loss, new LoaderData(loader), training, () => Validator.Metrics(Model), outDir, header);
        if (resumeFrom is not null)
            Trainer.Restore(resumeFrom);
    }

    public SegmentationTaskOptions Task { get; }

    /// <summary>What loading <see cref="SegmentationTaskOptions.BackboneWeights"/> did (null when none were loaded).</summary>
    public StateDictReport? BackboneReport { get; }

    /// <summary>ImageNet weights into the encoder, strictly; a model without a torchvision encoder is the option's problem.</summary>
    static StateDictReport LoadBackbone(SegmentationModel model, string path)
    {
        try
        {
            return BackboneImport.ImageNet(model, path);
        }
        catch (ArgumentException e)
        {
            throw new InputException("--backbone-weights", e.Message.Split(" (Parameter")[0]);
        }
    }

    /// <summary>For a resumed run, the training options its checkpoint stored (they differ from the run's only
    /// in length when the run is extended); null for a new run.</summary>
    public TrainingOptions? StoredOptions { get; }

    public SegmentationModelInfo Info { get; }

    /// <summary>Optimizer steps per epoch (training images / batch size, the last partial batch dropped).</summary>
    public int BatchesPerEpoch { get; }

    public SegmentationModel Model { get; }

    public SegmentationValidator Validator { get; }

    public Trainer<TrainingBatch> Trainer { get; }

    /// <summary>A new run writing into <paramref name="outDir"/>.</summary>
    public static SegmentationTraining Start(SegmentationTaskOptions task, TrainingOptions training, string outDir) =>
        Create(task, training, outDir, null, null);

    /// <summary>
    /// Continues the run in <paramref name="outDir"/> from its last.ckpt with the stored options, so it ends
    /// as the uninterrupted run would have. <paramref name="dataRoot"/> replaces the stored dataset path
    /// (for a dataset that moved; it must hold the same data); <paramref name="workers"/> the loader threads
    /// (which never change the numbers). <paramref name="length"/> gives the run a new length, in epochs or
    /// iterations (see <see cref="RunLength"/>): longer extends even a finished run, and the learning-rate
    /// schedule, a pure function of (iteration, run length), is recomputed for the new length (stretched).
    /// </summary>
    /// <param name="validationPrecision">Replaces the stored validation precision (validation does not change training).</param>
    public static SegmentationTraining Resume(string outDir, string? dataRoot = null, RunLength? length = null, int? workers = null,
                                              Precision? validationPrecision = null)
    {
        var checkpoint = Checkpoint.Open(Path.Combine(outDir, Training.Trainer.LastCheckpointName));
        SegmentationTaskOptions task;
        try
        {
            task = checkpoint.Header["task"].Deserialize<SegmentationTaskOptions>(TrainingOptions.Json)
                ?? throw new JsonException("no \"task\" entry");
        }
        catch (JsonException e)
        {
            throw new InputException(checkpoint.Path, $"not a segmentation training checkpoint ({e.Message})");
        }
        if (dataRoot is not null)
            task = task with { DataRoot = dataRoot };
        if (workers is not null)
            task = task with { Workers = workers.Value };
        if (validationPrecision is { } precision)
            task = task with { ValidationPrecision = precision };
        var stored = Training.Trainer.ReadOptions(checkpoint);
        var training = length is null ? stored : length.ApplyTo(stored);
        return Create(task, training, outDir, checkpoint, stored);
    }

    static SegmentationTraining Create(SegmentationTaskOptions task, TrainingOptions training, string outDir, Checkpoint? resumeFrom,
                                       TrainingOptions? storedOptions)
    {
        try
        {
            training.Validate();
            return new SegmentationTraining(task, training, outDir, resumeFrom, storedOptions);
        }
        catch (ArgumentException e)
        {
            throw new InputException(outDir, $"invalid training options: {e.Message}");
        }
    }

    public TrainingState Run(CancellationToken cancellation = default) => Trainer.Run(cancellation);

    /// <summary>
    /// Before the first step: every input the model will be trained on has a size it takes, so a bad size is
    /// one line naming the image (or the crop) and the rule, not a failure in the middle of an epoch. With
    /// --crop the crops are the inputs; without, whole images (batched and padded to the largest in the batch,
    /// which fits whenever every image fits). Validation needs no check: the predictor pads each validation
    /// image up to the next size the model takes (or tiles it, for the valid U-Net).
    /// </summary>
    void CheckInputSizes(SegmentationTaskOptions task, SegmentationDataset trainSet)
    {
        if (task.CropSize > 0)
        {
            if (SideProblem(task.CropSize) is { } problem)
                throw new InputException("--crop", $"{task.CropSize} does not fit {Info.Name}: {problem}");
            return;
        }
        for (int i = 0; i < trainSet.Count; i++)
        {
            var (width, height) = trainSet.ImageSize(i);
            if ((SideProblem(width) ?? SideProblem(height)) is { } problem)
                throw new InputException(trainSet.ImagePath(i),
                    $"{width}x{height} does not fit {Info.Name}: {problem} (training on whole images; resize the images or pass --crop with a size that fits)");
        }
    }

    string? SideProblem(int side)
    {
        try
        {
            Model.OutputSize(side);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message.Split(" (Parameter", 2)[0];
        }
    }

    /// <summary>The loss against the labels under the output: a model with valid convolutions (the
    /// paper's U-Net) predicts only the centre of its input, so the target is centre-cropped to match.</summary>
    TrainingLoss Loss(TrainingBatch batch)
    {
        var logits = Model.forward(batch.Input);
        var target = batch.Target;
        long height = logits.shape[2], width = logits.shape[3];
        if (target.shape[1] == height && target.shape[2] == width)
            return TrainingLoss.Of(loss.call(logits, target));
        using var centre = target
            .narrow(1, (target.shape[1] - height) / 2, height)
            .narrow(2, (target.shape[2] - width) / 2, width);
        return TrainingLoss.Of(loss.call(logits, centre));
    }

    public void Dispose()
    {
        Trainer.Dispose();
        Model.Dispose();
        loss.Dispose();
    }

    /// <summary>The data loader's batches as trainer batches.</summary>
    sealed class LoaderData(SegmentationBatchLoader loader) : ITrainingData<TrainingBatch>
    {
        public int BatchesPerEpoch => loader.BatchesPerEpoch;

        public IEnumerable<TrainingBatch> Epoch(int epoch, int skip) =>
            loader.Epoch(epoch, skip).Select(batch => new TrainingBatch(batch.Images, batch.Masks));
    }
}

/// <summary>A new length for a resumed run: a number of epochs, or of iterations (optimizer steps).</summary>
public sealed record RunLength(int? Epochs, long? Iterations)
{
    /// <summary>The stored options with this length: epochs replace an iteration count, iterations replace epochs.</summary>
    public TrainingOptions ApplyTo(TrainingOptions stored) => Iterations is { } iterations
        ? stored with { Iterations = iterations }
        : Epochs is { } epochs ? stored with { Epochs = epochs, Iterations = 0 } : stored;
}
