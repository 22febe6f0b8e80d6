using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Visualization;
using TorchSharp;

namespace PixelBox.Training;

/// <summary>Dataset size, detector and schedule of a detection demo run.</summary>
public sealed record DetectionDemoSettings
{
    public required int Images { get; init; }

    /// <summary>Side of the generated Shapes images.</summary>
    public required int ImageSize { get; init; }

    /// <summary>Side of the network input (a multiple of 32 for yolo).</summary>
    public required int InputSize { get; init; }

    public required int Epochs { get; init; }

    public required int BatchSize { get; init; }

    public required double LearningRate { get; init; }

    public string Model { get; init; } = "yolo";

    public int WarmupIterations { get; init; } = 100;

    public double Mosaic { get; init; } = 1.0;

    public int CloseMosaicEpochs { get; init; } = 2;

    public double MinScale { get; init; } = 0.5;

    public double MaxScale { get; init; } = 1.5;

    public int Seed { get; init; } = 2015;

    /// <summary>How validation and the final evaluation run the model (training is float32).</summary>
    public Precision Precision { get; init; } = Precision.Auto;

    public double ValFraction { get; init; } = 0.2;

    /// <summary>Validation images drawn (ground truth beside the detections).</summary>
    public int Pictures { get; init; } = 8;

    /// <summary>Lowest score drawn in the pictures.</summary>
    public double DrawThreshold { get; init; } = 0.3;

    /// <summary>
    /// The full demo: validation AP50 &gt;= 0.90 and AP@[.5:.95] &gt;= 0.60 within 10 minutes on 2 CPU cores.
    /// 128 px images: at 64 px a shape spans 1.6 to 3.6 cells of the stride-8 level and yolo learned its form
    /// slowly (AP 0.21 after 12 epochs, circles alone 0.45); at 128 px it reached AP 0.68 in 5 epochs. No
    /// mosaic and a milder scale range: over a schedule this short, mosaic's harder images slowed learning
    /// (after one epoch at 64 px: AP 0.003 with mosaic, 0.022 without); it pays off over long runs.
    /// </summary>
    public static DetectionDemoSettings Full { get; } = new()
    {
        Images = 4000, ImageSize = 128, InputSize = 128, Epochs = 10, BatchSize = 16, LearningRate = 1e-2, WarmupIterations = 100,
        Mosaic = 0, CloseMosaicEpochs = 0, MinScale = 0.75, MaxScale = 1.25,
    };

    /// <summary>
    /// These settings for <paramref name="model"/>: its input side is <see cref="InputSize"/> when the model takes
    /// that size, else the model's native one (yolov1 and ssd300 are built for one input size).
    /// </summary>
    public DetectionDemoSettings ForModel(string model)
    {
        var entry = ModelRegistry.Get(model);
        if (entry.Task != ModelTasks.Detection)
            throw new InputException("--model", $"'{model}' is a {entry.Task} model (the demo without --task det trains it); detectors: {string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Detection))}");
        int classes = ShapesDataset.ClassNames.Length - 1;
        using var native = entry.CreateDetection(classes, 3, device: torch.META);
        try
        {
            using var sized = entry.CreateDetection(classes, 3, native.Settings with { InputSize = InputSize }, torch.META);
            return this with { Model = model };
        }
        catch (ArgumentException)
        {
            return this with { Model = model, InputSize = native.Settings.InputSize };
        }
    }

    /// <summary>Under a minute: learns enough to beat a detector that places boxes without looking.</summary>
    public static DetectionDemoSettings Quick { get; } = new()
    {
        Images = 300, ImageSize = 64, InputSize = 64, Epochs = 4, BatchSize = 16, LearningRate = 4e-3, WarmupIterations = 10,
        CloseMosaicEpochs = 1, Pictures = 3,
    };
}

/// <summary>COCO numbers of one evaluation, as the demo reports them (-1 where a range has no ground truth).</summary>
public sealed record DetectionScores(double Ap, double Ap50, double Ap75, double ApSmall, double ApMedium, double ApLarge, IReadOnlyList<double> PerClassAp);

/// <summary>Where the detection demo put its results and what it measured.</summary>
public sealed record DetectionDemoResult(
    string OutDir,
    string MetricsPath,
    string GroundTruthPath,
    string PredictionsPath,
    string CheckpointPath,
    string CurvesPath,
    string PlotsDir,
    IReadOnlyList<string> PicturePaths,
    IReadOnlyList<string> ClassNames,
    DetectionScores Val,
    DetectionScores Baseline,
    int Epochs,
    double TrainSeconds);

/// <summary>
/// The detection demo: generates Shapes, trains a detector (yolo by default) with <see cref="DetectionTraining"/>,
/// writes the validation split's ground truth (val_gt.json) and the final model's detections on it
/// (val_predictions.json), and scores them by reading those two files exactly as <c>pixelbox eval coco</c>
/// does, so metrics.json and the command agree to the last digit. Also draws validation pictures (ground
/// truth | detections), PR curves and the training curves, and scores a trivial baseline for comparison.
/// </summary>
public sealed class DetectionDemo(DetectionDemoSettings settings, string outDir)
{
    public const string MetricsName = "metrics.json";
    public const string GroundTruthName = "val_gt.json";
    public const string PredictionsName = "val_predictions.json";

    public DetectionDemoSettings Settings { get; } = settings;

    public string OutDir { get; } = Path.GetFullPath(outDir);

    public event Action<string>? StageStarted;

    public event Action<int, int>? DataProgress;

    public event Action<IterationProgress>? IterationCompleted;

    public event Action<EpochSummary>? EpochCompleted;

    public DetectionDemoResult Run(CancellationToken cancellation = default)
    {
        var s = Settings;
        var dataDir = Path.Combine(OutDir, $"shapes-{s.ImageSize}px-{s.Images}-seed{s.Seed}");
        var runDir = Path.Combine(OutDir, "run");
        if (!File.Exists(Path.Combine(dataDir, "instances.json")))
        {
            // generation depends only on these parameters, so an existing folder of this name is reused
            StageStarted?.Invoke("generating data");
            ShapesDataset.Generate(dataDir, s.Images, s.ImageSize, s.Seed, s.ValFraction, new DataProgressRelay(this));
        }

        StageStarted?.Invoke("training");
        var task = new DetectionTaskOptions
        {
            DataRoot = dataDir,
            Format = "shapes",
            ModelName = s.Model,
            ImageSize = s.InputSize,
            BatchSize = s.BatchSize,
            ValidationPrecision = s.Precision,
            Augmentation = new DetectionAugmentationOptions
            {
                Mosaic = s.Mosaic, CloseMosaicEpochs = s.CloseMosaicEpochs, MinScale = s.MinScale, MaxScale = s.MaxScale,
            },
        };
        var training = new TrainingOptions
        {
            Optimizer = OptimizerKind.AdamW,
            LearningRate = s.LearningRate,
            MinLearningRate = s.LearningRate * 0.01,
            WeightDecay = 5e-4,
            Schedule = ScheduleKind.Cosine,
            WarmupIterations = s.WarmupIterations,
            Epochs = s.Epochs,
            Seed = s.Seed,
        };
        var clock = Stopwatch.StartNew();
        using var run = DetectionTraining.Start(task, training, runDir);
        run.Trainer.IterationCompleted += p => IterationCompleted?.Invoke(p);
        run.Trainer.EpochCompleted += e => EpochCompleted?.Invoke(e);
        var state = run.Run(cancellation);
        var trainSeconds = clock.Elapsed.TotalSeconds;

        StageStarted?.Invoke("evaluating");
        var info = run.Info;
        var valImages = run.Dataset.Split(task.ValSplit).Images;
        run.Model.eval();
        var detections = run.Validator.Predict(run.Model);
        var gtPath = Path.Combine(OutDir, GroundTruthName);
        var predictionsPath = Path.Combine(OutDir, PredictionsName);
        AtomicFile.Write(gtPath, stream => DetectionCoco.WriteGroundTruth(stream, valImages, info.ClassNames, info.CategoryOf));
        AtomicFile.Write(predictionsPath, stream => DetectionCoco.WriteResults(stream, run.Validator.ImageIds, detections, info.CategoryOf));
        var (val, evaluation, accumulation, report) = Score(CocoFiles.Load(gtPath, predictionsPath, CocoIouType.Bbox));
        var baseline = Score(run.Validator.GroundTruth, BaselineResults(run, valImages)).Scores;

        var plotsDir = OutputPaths.CreateFolder(Path.Combine(OutDir, "plots"));
        CocoPlots.WriteAll(plotsDir, evaluation, accumulation, report);
        var curvesPath = Path.Combine(OutDir, Trainer.CurvesName);
        TrainingCurvesPlot.Save(state.History, DetectionTraining.SelectionMetric, curvesPath);
        var pictures = DrawPictures(run, valImages, detections);

        var metrics = new JsonObject
        {
            ["model"] = s.Model,
            ["precision"] = InferencePrecision.Name(InferencePrecision.Resolve(s.Precision)),
            ["val"] = ScoresJson(val),
            ["epochs"] = state.Epoch,
            ["train_seconds"] = Math.Round(trainSeconds, 1),
            ["class_names"] = new JsonArray(info.ClassNames.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
            ["baseline"] = ScoresJson(baseline),
            ["baseline_description"] = BaselineDescription,
            ["images"] = new JsonObject { ["train"] = s.Images - valImages.Count, ["val"] = valImages.Count, ["size"] = s.ImageSize, ["input_size"] = s.InputSize },
            ["checkpoint"] = run.Trainer.LastCheckpointPath,
        };
        var metricsPath = Path.Combine(OutDir, MetricsName);
        AtomicFile.WriteAllText(metricsPath, metrics.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new DetectionDemoResult(OutDir, metricsPath, gtPath, predictionsPath, run.Trainer.LastCheckpointPath, curvesPath, plotsDir,
            pictures, info.ClassNames, val, baseline, state.Epoch, trainSeconds);
    }

    const string BaselineDescription =
        "a detector that does not look: for every image and class, an 8x8 grid of square boxes of the class's median training size, scored by the class's frequency";

    static JsonObject ScoresJson(DetectionScores s) => new()
    {
        ["ap"] = s.Ap,
        ["ap50"] = s.Ap50,
        ["ap75"] = s.Ap75,
        ["ap_small"] = s.ApSmall,
        ["ap_medium"] = s.ApMedium,
        ["ap_large"] = s.ApLarge,
        ["per_class_ap"] = new JsonArray(s.PerClassAp.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
    };

    static (DetectionScores Scores, CocoEvaluation Evaluation, CocoAccumulation Accumulation, CocoReport Report) Score(CocoInputs inputs) =>
        Score(inputs.GroundTruth, inputs.Detections);

    static (DetectionScores Scores, CocoEvaluation Evaluation, CocoAccumulation Accumulation, CocoReport Report) Score(CocoGroundTruth gt, CocoDetections dt)
    {
        var evaluation = new CocoEvaluator(gt, dt).Evaluate();
        var accumulation = evaluation.Accumulate();
        var report = CocoReport.Create(gt, evaluation, accumulation, CocoIouType.Bbox);
        var stats = report.Summary.Stats;
        var scores = new DetectionScores(stats[0], stats[1], stats[2], stats[3], stats[4], stats[5], [.. report.PerCategory.Select(c => c.Ap)]);
        return (scores, evaluation, accumulation, report);
    }

    /// <summary>The trivial baseline's results on the validation images (see <see cref="BaselineDescription"/>).</summary>
    static CocoDetections BaselineResults(DetectionTraining run, IReadOnlyList<DetectionImage> valImages)
    {
        var info = run.Info;
        var train = run.Dataset.Split(run.Task.TrainSplit).Images;
        int total = Math.Max(1, train.Sum(i => i.Objects.Count));
        var perImage = new List<ImageDetections>(valImages.Count);
        var sides = new double[info.NumClasses];
        var frequency = new float[info.NumClasses];
        for (int c = 0; c < info.NumClasses; c++)
        {
            var relative = train.SelectMany(i => i.Objects.Where(o => o.Label == c)
                .Select(o => Math.Sqrt((double)o.Width * o.Height / ((double)i.Width * i.Height)))).Order().ToList();
            sides[c] = relative.Count == 0 ? 0.25 : relative[relative.Count / 2];
            frequency[c] = (float)relative.Count / total;
        }
        const int grid = 8;
        foreach (var image in valImages)
        {
            var boxes = new List<DetectedObject>();
            for (int c = 0; c < info.NumClasses; c++)
            {
                float w = (float)(sides[c] * image.Width), h = (float)(sides[c] * image.Height);
                for (int gy = 0; gy < grid; gy++)
                    for (int gx = 0; gx < grid; gx++)
                    {
                        float cx = (gx + 0.5f) * image.Width / grid, cy = (gy + 0.5f) * image.Height / grid;
                        float x1 = Math.Max(0, cx - w / 2), y1 = Math.Max(0, cy - h / 2);
                        float x2 = Math.Min(image.Width, cx + w / 2), y2 = Math.Min(image.Height, cy + h / 2);
                        boxes.Add(new DetectedObject(x1, y1, x2, y2, frequency[c], c));
                    }
            }
            perImage.Add(new ImageDetections(boxes));
        }
        return DetectionCoco.Results(run.Validator.ImageIds, perImage, info.CategoryOf);
    }

    List<string> DrawPictures(DetectionTraining run, IReadOnlyList<DetectionImage> valImages, IReadOnlyList<ImageDetections> detections)
    {
        var folder = OutputPaths.CreateFolder(Path.Combine(OutDir, "pictures"));
        var paths = new List<string>();
        for (int i = 0; i < Math.Min(Settings.Pictures, valImages.Count); i++)
        {
            var image = valImages[i];
            var rgb = RgbImageFile.Read(image.Path);
            var truth = image.Objects.Select(o => new DetectedObject(o.X0, o.Y0, o.X1, o.Y1, 1, o.Label)).ToList();
            var picture = SegmentationOverlay.SideBySide(
                DetectionOverlay.Draw(rgb, truth, run.Info.ClassNames, showScores: false),
                DetectionOverlay.Draw(rgb, detections[i].Detections, run.Info.ClassNames, Settings.DrawThreshold));
            var path = Path.Combine(folder, Path.GetFileNameWithoutExtension(image.FileName) + "_boxes.png");
            RgbImageFile.WritePng(path, picture);
            paths.Add(path);
        }
        return paths;
    }

    /// <summary>Reports generation progress synchronously (Progress&lt;T&gt; would post it later, out of order).</summary>
    sealed class DataProgressRelay(DetectionDemo demo) : IProgress<int>
    {
        public void Report(int value) => demo.DataProgress?.Invoke(value, demo.Settings.Images);
    }
}
