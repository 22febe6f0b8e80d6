using PixelBox.Data;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Inference;

/// <summary>
/// A small unet-same (width 8, depth 3) trained briefly on 32x32 Shapes images: the "demo model" of the
/// precision, ONNX and quantization tests (a trained model has the logit margins real use has; random
/// weights would make every argmax a near tie). Trained once per test run; its users are in the torch
/// random-generator collection, so the training and hence every figure is the same each run.
/// </summary>
public static class TrainedShapesModel
{
    static readonly Lazy<(string Checkpoint, string Data)> Trained = new(Train);

    public static string Checkpoint => Trained.Value.Checkpoint;

    /// <summary>The Shapes dataset it was trained on (images/, masks/, train.txt, val.txt).</summary>
    public static string Data => Trained.Value.Data;

    public static IReadOnlyList<SegmentationSample> Validation => MaskFolderDataset.Open(Data, "val");

    static (string, string) Train()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, count: 320, size: 48, seed: 5, valFraction: 0.25);
        var task = new SegmentationTaskOptions
        {
            DataRoot = data,
            ModelName = "unet-same",
            ModelSize = new ModelSize(16, 3),
            BatchSize = 8,
            Loss = "ce",
            Workers = 1,
        };
        var training = new TrainingOptions
        {
            Optimizer = OptimizerKind.AdamW,
            LearningRate = 5e-3,
            Schedule = ScheduleKind.Poly,
            Epochs = 30, // validation mIoU 0.40 (5 epochs of 120 images of 32 px stayed at the background's 0.18)
            Seed = 3,
        };
        var runDir = Path.Combine(dir, "run");
        using (var run = SegmentationTraining.Start(task, training, runDir))
            run.Run();
        return (Path.Combine(runDir, Trainer.BestCheckpointName), data);
    }
}
