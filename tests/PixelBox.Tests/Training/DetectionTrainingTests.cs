using System.Text.Json;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Training;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

/// <summary>Detection runs on a tiny Shapes set (32 px images, yolo at 32 px). Model initialisation draws from
/// torch's global generator, so these run alone.</summary>
[Collection(TorchRandomCollection.Name)]
public class DetectionTrainingTests
{
    static (string Data, DetectionTaskOptions Task, TrainingOptions Training) Setup()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 14, 32, seed: 3, valFraction: 0.3);
        var task = new DetectionTaskOptions
        {
            DataRoot = data, Format = "shapes", ModelName = "yolo", ImageSize = 32, BatchSize = 4, Workers = 2,
            Augmentation = new DetectionAugmentationOptions { CloseMosaicEpochs = 1 },
        };
        var training = new TrainingOptions { LearningRate = 2e-3, Epochs = 3, WarmupIterations = 2, Seed = 11, Schedule = ScheduleKind.Cosine };
        return (dir, task, training);
    }

    [Fact]
    public void ARunLogsLossPartsAndCocoMetricsAndDescribesItsModel()
    {
        var (dir, task, training) = Setup();
        var runDir = Path.Combine(dir, "run");
        using (var run = DetectionTraining.Start(task, training with { Epochs = 2 }, runDir))
        {
            Assert.Equal(4, run.Trainer.TotalIterations);
            run.Run();
        }
        var lines = File.ReadAllLines(Path.Combine(runDir, Trainer.MetricsLogName));
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var parts = first.RootElement.GetProperty("loss_parts");
        Assert.Equal(["box", "cls", "dfl"], parts.EnumerateObject().Select(p => p.Name));
        var metrics = first.RootElement.GetProperty("metrics");
        foreach (var name in new[] { "ap", "ap50", "ap75", "ap_small", "ap/circle", "ap/square", "ap/triangle", "ap/star" })
            Assert.InRange(metrics.GetProperty(name).GetDouble(), -1, 1);

        var checkpoint = Checkpoint.Open(Path.Combine(runDir, Trainer.BestCheckpointName));
        var info = DetectionModelInfo.FromCheckpoint(checkpoint);
        Assert.Equal(("yolo", 4, 3), (info.Name, info.NumClasses, info.InChannels));
        Assert.Equal(["circle", "square", "triangle", "star"], info.ClassNames);
        Assert.Equal([1L, 2, 3, 4], info.CategoryIds!);
        Assert.Equal(32, info.Settings.InputSize);
        Assert.Equal("ap", Trainer.ReadOptions(checkpoint).SelectionMetric);
    }

    /// <summary>Stopped inside epoch 2 and resumed from the run folder, a run ends with exactly the weights
    /// and metrics of the uninterrupted run (data order, augmentation and mosaic switch depend only on the epoch).</summary>
    [Fact]
    public void ResumingAnInterruptedRunEndsAsTheUninterruptedOne()
    {
        var (dir, task, training) = Setup();
        var straight = Path.Combine(dir, "straight");
        using (var run = DetectionTraining.Start(task, training, straight))
            run.Run();

        var interrupted = Path.Combine(dir, "interrupted");
        using (var run = DetectionTraining.Start(task, training, interrupted))
        {
            using var cancel = new CancellationTokenSource();
            run.Trainer.IterationCompleted += p => { if (p.Iteration == 3) cancel.Cancel(); };
            Assert.Throws<OperationCanceledException>(() => run.Run(cancel.Token));
        }
        using (var resumed = DetectionTraining.Resume(interrupted))
        {
            Assert.Equal(1, resumed.Trainer.State.Partial!.Steps);
            resumed.Run();
        }

        var a = Checkpoint.Open(Path.Combine(straight, Trainer.LastCheckpointName));
        var b = Checkpoint.Open(Path.Combine(interrupted, Trainer.LastCheckpointName));
        var info = DetectionModelInfo.FromCheckpoint(a);
        using var modelA = info.CreateModel();
        using var modelB = info.CreateModel();
        a.LoadModel(modelA);
        b.LoadModel(modelB);
        var stateB = modelB.state_dict();
        foreach (var (name, value) in modelA.state_dict())
            Assert.True(value.equal(stateB[name]).all().item<bool>(), $"{name} differs after resume");
        Assert.Equal(Metrics(straight), Metrics(interrupted));
    }

    static string[] Metrics(string run) =>
        [.. File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName)).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("metrics").GetRawText())];

    [Fact]
    public void BadTaskOptionsAreInputErrorsBeforeAnyStep()
    {
        var (dir, task, training) = Setup();
        var run = Path.Combine(dir, "run");
        var size = Assert.Throws<InputException>(() => DetectionTraining.Start(task with { ImageSize = 48 }, training, run));
        Assert.Contains("multiple of 32", size.Message);
        Assert.Throws<InputException>(() => DetectionTraining.Start(task with { ModelName = "unet-same" }, training, run));
        Assert.Throws<InputException>(() => DetectionTraining.Start(task with { Format = "pascal" }, training, run));
        Assert.Throws<InputException>(() => DetectionTraining.Start(task with { ValSplit = "test" }, training, run));
        Assert.Throws<InputException>(() => DetectionTraining.Start(task with { BatchSize = 0 }, training, run));
        Assert.False(File.Exists(Path.Combine(run, Trainer.LastCheckpointName)));
    }
}
