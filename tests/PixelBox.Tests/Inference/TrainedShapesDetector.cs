using PixelBox.Data;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Inference;

/// <summary>
/// yolo trained briefly on 16 Shapes images of 64 px and scored on those same images: the "demo detector" of
/// the precision tests. Fitting its own images gives it the confident, well-separated scores and
/// boxes a trained detector has (a random one's detections are near ties that any rounding reorders). Trained
/// once per test run; its users are in the torch random-generator collection, so every figure repeats.
/// </summary>
public static class TrainedShapesDetector
{
    static readonly Lazy<(string Checkpoint, string Data)> Trained = new(Train);

    public static string Checkpoint => Trained.Value.Checkpoint;

    /// <summary>The Shapes dataset it was trained on (format "shapes").</summary>
    public static string Data => Trained.Value.Data;

    /// <summary>The split it is scored on: the training images (the run validates on the 4 others, which is cheap
    /// each epoch; its last checkpoint is used).</summary>
    public const string Split = "train";

    static (string, string) Train()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, count: 20, size: 64, seed: 11, valFraction: 0.2);
        var task = new DetectionTaskOptions
        {
            DataRoot = data,
            Format = "shapes",
            ModelName = "yolo",
            ImageSize = 64,
            BatchSize = 8,
            Workers = 1,
            Augmentation = new DetectionAugmentationOptions { Enabled = false },
        };
        var training = new TrainingOptions
        {
            Optimizer = OptimizerKind.AdamW,
            LearningRate = 1e-2,
            MinLearningRate = 1e-3,
            WeightDecay = 0,
            Schedule = ScheduleKind.Cosine,
            WarmupIterations = 10,
            Epochs = 150, // 300 steps over 16 images
            Seed = 4,
        };
        var runDir = Path.Combine(dir, "run");
        using (var run = DetectionTraining.Start(task, training, runDir))
            run.Run();
        return (Path.Combine(runDir, Trainer.LastCheckpointName), data);
    }
}
