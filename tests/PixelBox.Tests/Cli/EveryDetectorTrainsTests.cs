using System.Text.Json;
using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(CliRunner.Collection)]
public class EveryDetectorTrainsTests
{
    /// <summary>
    /// Every detector trains on Shapes with `train det` (its loss falls while it fits two images) and `predict det`
    /// then writes COCO results that the evaluator reads against the data's ground truth. The paper-sized layouts
    /// (overfeat-fast, yolov1-paper, yolo-s..x) share their code with the entries here; they are left out for
    /// their size alone.
    /// </summary>
    [Theory]
    [InlineData("yolo", 64, 10, 0.01)]
    [InlineData("overfeat", 64, 10, 0.001)]
    [InlineData("yolov1", 112, 10, 0.001)]
    [InlineData("ssd300-vgg16", 300, 5, 0.001)]
    [InlineData("ssdlite320-mobilenet-v3-large", 320, 10, 0.001)]
    public void TrainsOnShapesWithFallingLossAndPredictsCocoResults(string model, int inputSize, int steps, double learningRate)
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 2, 64, seed: 7, valFraction: 0.5);
        var run = Path.Combine(dir, "run");
        var (code, _, err) = CliRunner.Run("train", "det", "--data", data, "--format", "shapes", "--model", model, "--out", run,
            "--image-size", $"{inputSize}", "--iterations", $"{steps}", "--batch-size", "1", "--no-augment", "--warmup", "0",
            "--lr", $"{learningRate}", "--seed", "3", "--threads", "2");
        Assert.True(code == 0, err);

        // one training image: one step per epoch, the same image every time, so the lines of metrics.jsonl are the
        // losses of a model fitting that image
        var losses = File.ReadAllLines(Path.Combine(run, Trainer.MetricsLogName))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("train_loss").GetDouble()).ToArray();
        Assert.Equal(steps, losses.Length);
        Assert.All(losses, loss => Assert.True(double.IsFinite(loss)));
        Assert.True(losses[^1] < 0.8 * losses[0], $"{model}: losses {string.Join(", ", losses.Select(l => l.ToString("G4")))}");

        var predictions = Path.Combine(dir, "predictions");
        (code, _, err) = CliRunner.Run("predict", "det", "--model", Path.Combine(run, Trainer.LastCheckpointName),
            "--input", Path.Combine(data, "images"), "--out", predictions, "--gt", Path.Combine(data, "instances.json"),
            "--score-threshold", "0", "--threads", "2");
        Assert.True(code == 0, err);
        var inputs = CocoFiles.Load(Path.Combine(data, "instances.json"), Path.Combine(predictions, "predictions.json"), CocoIouType.Bbox);
        Assert.True(inputs.Detections.Count > 0);
        var evaluation = new CocoEvaluator(inputs.GroundTruth, inputs.Detections).Evaluate();
        Assert.InRange(CocoReport.Create(inputs.GroundTruth, evaluation, evaluation.Accumulate(), CocoIouType.Bbox).Summary.Stats[0], 0, 1);
    }
}
