using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Masks;
using PixelBox.Metrics;
using PixelBox.Models;
using PixelBox.Visualization;
using TorchSharp;
using TorchSharp.Modules;

namespace PixelBox.Training;

/// <summary>Dataset size, model and schedule of a demo run.</summary>
public sealed record ShapesDemoSettings
{
    public required int Images { get; init; }
    public required int ImageSize { get; init; }
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required double LearningRate { get; init; }
    public string Model { get; init; } = "unet-same";
    /// <summary>Width and depth of unet-same; null for the registry's default size of <see cref="Model"/>.</summary>
    public ModelSize? Size { get; init; } = new(16, 4);
    public string Loss { get; init; } = "ce+dice";
    public int WarmupIterations { get; init; } = 20;
    public int Seed { get; init; } = 2015;
    public double ValFraction { get; init; } = 0.2;

    /// <summary>Number format of validation and of the final evaluation (training is float32).</summary>
    public Precision Precision { get; init; } = Precision.Auto;

    /// <summary>Validation images drawn as overlays.</summary>
    public int Overlays { get; init; } = 6;

    /// <summary>The full demo: validation mIoU >= 0.85 within 10 minutes on 2 CPU cores (2,800 steps of 8 images).</summary>
    public static ShapesDemoSettings Full { get; } = new()
    {
        Images = 4000, ImageSize = 64, Epochs = 7, BatchSize = 8, LearningRate = 3e-3, WarmupIterations = 100,
    };

    /// <summary>Under a minute: learns enough to beat predicting background everywhere.</summary>
    public static ShapesDemoSettings Quick { get; } = new()
    {
        Images = 300, ImageSize = 48, Epochs = 4, BatchSize = 8, LearningRate = 3e-3, Loss = "ce", WarmupIterations = 10, Overlays = 3,
    };

    /// <summary>AdamW rate for zoo models with BatchNorm (ResNet, MobileNetV3, HRNet, SegNet) trained from scratch.</summary>
    public const double BatchNormLearningRate = 1e-3;

    /// <summary>AdamW rate for the zoo models without normalisation layers (the VGG FCNs, the paper's U-Net), which
    /// diverge or stall from scratch at the rates BatchNorm allows.</summary>
    public const double PlainLearningRate = 1e-4;

    /// <summary>
    /// These settings for the segmentation model <paramref name="model"/> of the registry. <see cref="Model"/>
    /// (unet-same) keeps them as they are; another model gets its default size, Shapes images of the smallest
    /// side from <see cref="ImageSize"/> up that it takes and predicts at least <see cref="ImageSize"/> pixels of
    /// (the demo's side, except for the valid-convolution U-Net, which predicts only the centre: 252 for 64), and
    /// <see cref="BatchNormLearningRate"/> or <see cref="PlainLearningRate"/>. Batches stay at 8 images (BatchNorm
    /// and the pooled branches of ASPP and PSPNet need at least 2).
    /// </summary>
    public ShapesDemoSettings ForModel(string model)
    {
        var entry = ModelRegistry.Get(model);
        if (entry.Task != ModelTasks.Segmentation)
            throw new InputException("--model", $"'{model}' is a {entry.Task} model (train it with --task det); segmentation models: " +
                                                string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Segmentation)));
        if (model == Model)
            return this;
        using var probe = entry.CreateSegmentation(ShapesDataset.ClassNames.Length, 3, torch.META);
        return this with
        {
            Model = model,
            Size = null,
            ImageSize = SidePredicting(probe, ImageSize),
            LearningRate = probe.modules().Any(m => m is BatchNorm2d) ? BatchNormLearningRate : PlainLearningRate,
        };
    }

    /// <summary>The smallest input side from <paramref name="side"/> up of which <paramref name="model"/> predicts at least <paramref name="side"/> pixels.</summary>
    static int SidePredicting(SegmentationModel model, int side)
    {
        for (var input = side; ; input++)
        {
            try
            {
                if (model.OutputSize(input) >= side)
                    return input;
            }
            catch (ArgumentException)
            {
                // a side the model does not take
            }
        }
    }
}

/// <summary>Where the demo put its results and what it measured.</summary>
public sealed record ShapesDemoResult(
    string OutDir,
    string MetricsPath,
    string CheckpointPath,
    string CurvesPath,
    string ConfusionMatrixPath,
    IReadOnlyList<string> OverlayPaths,
    IReadOnlyList<string> ClassNames,
    double PixelAccuracy,
    double MeanIoU,
    IReadOnlyList<double> PerClassIoU,
    double AllBackgroundMeanIoU,
    int Epochs,
    double TrainSeconds);

/// <summary>
/// End to end on synthetic data: generates a Shapes dataset, trains a U-Net on it, evaluates the best
/// checkpoint on the validation split and writes metrics.json, overlays (image | ground truth |
/// prediction), the training curves and the confusion matrix.
/// </summary>
public sealed class ShapesDemo(ShapesDemoSettings settings, string outDir)
{
    public const string MetricsName = "metrics.json";

    public ShapesDemoSettings Settings { get; } = settings;

    public string OutDir { get; } = Path.GetFullPath(outDir);

    /// <summary>A step begins ("generating data", "training", ...).</summary>
    public event Action<string>? StageStarted;

    public event Action<int, int>? DataProgress;

    public event Action<IterationProgress>? IterationCompleted;

    public event Action<EpochSummary>? EpochCompleted;

    public ShapesDemoResult Run(CancellationToken cancellation = default)
    {
        var s = Settings;
        var dataDir = Path.Combine(OutDir, $"shapes-{s.ImageSize}px-{s.Images}-seed{s.Seed}");
        var runDir = Path.Combine(OutDir, "run");
        if (!File.Exists(Path.Combine(dataDir, "classes.txt")))
        {
            // Generation depends only on these parameters, so an existing folder of this name is reused.
            StageStarted?.Invoke("generating data");
            ShapesDataset.Generate(dataDir, s.Images, s.ImageSize, s.Seed, s.ValFraction, new DataProgressRelay(this));
        }

        StageStarted?.Invoke("training");
        var task = new SegmentationTaskOptions
        {
            DataRoot = dataDir,
            ModelName = s.Model,
            ModelSize = s.Size,
            Loss = s.Loss,
            BatchSize = s.BatchSize,
            CropSize = 0,
            ValidationPrecision = s.Precision,
        };
        var training = new TrainingOptions
        {
            Optimizer = OptimizerKind.AdamW,
            LearningRate = s.LearningRate,
            WeightDecay = 1e-4,
            Schedule = ScheduleKind.Cosine,
            WarmupIterations = s.WarmupIterations,
            Epochs = s.Epochs,
            Seed = s.Seed,
        };
        var clock = Stopwatch.StartNew();
        TrainingState state;
        using (var run = SegmentationTraining.Start(task, training, runDir))
        {
            run.Trainer.IterationCompleted += p => IterationCompleted?.Invoke(p);
            run.Trainer.EpochCompleted += e => EpochCompleted?.Invoke(e);
            state = run.Run(cancellation);
        }
        var trainSeconds = clock.Elapsed.TotalSeconds;

        StageStarted?.Invoke("evaluating");
        var checkpoint = Path.Combine(runDir, Trainer.BestCheckpointName);
        using var predictor = SegmentationPredictor.Load(checkpoint, new InferenceOptions(s.Precision));
        var info = predictor.Info;
        var val = MaskFolderDataset.Open(dataDir, "val");
        var matrix = new SegmentationValidator(val, info, s.BatchSize).Evaluate(predictor.Model);
        var background = new ConfusionMatrix(info.NumClasses, info.IgnoreIndex);
        foreach (var sample in val)
            background.Update(sample.Mask, new byte[sample.Mask.Length]);

        var overlays = new List<string>();
        for (int i = 0; i < Math.Min(s.Overlays, val.Count); i++)
        {
            var sample = val[i];
            var image = new RgbImage(sample.Width, sample.Height, sample.Image);
            var truth = new IndexMask(sample.Width, sample.Height, sample.Mask);
            var predicted = predictor.Predict(image);
            var picture = SegmentationOverlay.Enlarge(SegmentationOverlay.SideBySide(
                SegmentationOverlay.SideBySide(image, SegmentationOverlay.Blend(image, truth)),
                SegmentationOverlay.Blend(image, predicted)), OverlayScale(sample.Height));
            var path = Path.Combine(OutDir, "overlays", $"{sample.Id}.png");
            RgbImageFile.WritePng(path, picture);
            overlays.Add(path);
        }

        var confusionPath = Path.Combine(OutDir, "confusion_matrix.png");
        ConfusionMatrixPlot.Save(matrix, info.ClassNames, confusionPath);
        var curvesPath = Path.Combine(OutDir, Trainer.CurvesName);
        TrainingCurvesPlot.Save(state.History, training.SelectionMetric, curvesPath);

        var iou = matrix.IoU;
        var metrics = new JsonObject
        {
            ["model"] = s.Model,
            ["val"] = new JsonObject
            {
                ["pixel_accuracy"] = matrix.PixelAccuracy,
                ["mean_iou"] = matrix.MeanIoU,
                ["per_class_iou"] = new JsonArray(iou.Select(v => (JsonNode?)(double.IsFinite(v) ? JsonValue.Create(v) : null)).ToArray()),
            },
            ["class_names"] = new JsonArray(info.ClassNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["all_background_mean_iou"] = background.MeanIoU,
            ["precision"] = InferencePrecision.Name(InferencePrecision.Resolve(s.Precision)),
            ["epochs"] = state.Epoch,
            ["train_seconds"] = Math.Round(trainSeconds, 1),
            ["images"] = new JsonObject { ["train"] = s.Images - val.Count, ["val"] = val.Count, ["size"] = s.ImageSize },
            ["checkpoint"] = checkpoint,
        };
        var metricsPath = Path.Combine(OutDir, MetricsName);
        AtomicFile.WriteAllText(metricsPath, metrics.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        return new ShapesDemoResult(OutDir, metricsPath, checkpoint, curvesPath, confusionPath, overlays, info.ClassNames,
            matrix.PixelAccuracy, matrix.MeanIoU, iou, background.MeanIoU, state.Epoch, trainSeconds);
    }

    /// <summary>Enlarges small demo images to about 256 px high so the overlays can be read.</summary>
    static int OverlayScale(int height) => Math.Max(1, 256 / height);

    /// <summary>Reports generation progress synchronously (Progress&lt;T&gt; would post it later, out of order).</summary>
    sealed class DataProgressRelay(ShapesDemo demo) : IProgress<int>
    {
        public void Report(int value) => demo.DataProgress?.Invoke(value, demo.Settings.Images);
    }
}
