using System.Text.Json.Nodes;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

/// <summary>A task small enough to train in milliseconds: 2-class segmentation of 8x8 random images
/// whose label is "red channel above green", with a model holding BatchNorm (buffers) and Dropout
/// (randomness) so resume has something to get wrong.</summary>
static class TinyTask
{
    public const int Samples = 12;
    public const int BatchSize = 4;

    public static nn.Module<Tensor, Tensor> Model(int initSeed)
    {
        torch.manual_seed(initSeed);
        return nn.Sequential(
            ("conv1", nn.Conv2d(3, 6, 3, padding: 1)),
            ("bn1", nn.BatchNorm2d(6)),
            ("relu1", nn.ReLU()),
            ("drop", nn.Dropout2d(0.2)),
            ("head", nn.Conv2d(6, 2, 1)));
    }

    public static Func<TrainingBatch, TrainingLoss> Loss(nn.Module<Tensor, Tensor> model) => batch =>
        TrainingLoss.Of(nn.functional.cross_entropy(model.forward(batch.Input), batch.Target));

    public static JsonObject Header => new() { ["model"] = new JsonObject { ["name"] = "tiny", ["num_classes"] = 2 } };

    /// <summary>Fixed samples, shuffled per (seed, epoch).</summary>
    public sealed class Data : ITrainingData<TrainingBatch>
    {
        readonly Tensor images;
        readonly Tensor labels;
        readonly int seed;

        public Data(int seed)
        {
            this.seed = seed;
            var generator = new Generator(1234);
            images = torch.rand(Samples, 3, 8, 8, generator: generator);
            labels = images[.., 0].gt(images[.., 1]).to(ScalarType.Int64);
        }

        public int BatchesPerEpoch => Samples / BatchSize;

        public IEnumerable<TrainingBatch> Epoch(int epoch, int skip = 0)
        {
            var order = Enumerable.Range(0, Samples).ToArray();
            new Random(HashCode.Combine(seed, epoch)).Shuffle(order);
            for (int b = skip; b < BatchesPerEpoch; b++)
            {
                using var index = torch.tensor(order.AsSpan(b * BatchSize, BatchSize).ToArray().Select(i => (long)i).ToArray());
                yield return new TrainingBatch(images.index_select(0, index), labels.index_select(0, index));
            }
        }
    }

    /// <summary>Pixel accuracy on the whole set, as a stand-in validation metric.</summary>
    public static Func<IReadOnlyDictionary<string, double>> Validator(nn.Module<Tensor, Tensor> model, Data data) => () =>
    {
        double correct = 0, total = 0;
        foreach (var batch in data.Epoch(0))
        {
            using (batch)
            {
                var prediction = model.forward(batch.Input).argmax(1);
                correct += prediction.eq(batch.Target).sum().item<long>();
                total += batch.Target.numel();
            }
        }
        return new Dictionary<string, double> { ["accuracy"] = correct / total };
    };

    public static TrainingOptions Options(OptimizerKind optimizer) => new()
    {
        Optimizer = optimizer,
        LearningRate = optimizer == OptimizerKind.Sgd ? 0.1 : 0.01,
        Schedule = ScheduleKind.Cosine,
        WarmupIterations = 2,
        Epochs = 4,
        Seed = 7,
        SelectionMetric = "accuracy",
    };

    public static Trainer<TrainingBatch> Trainer(nn.Module<Tensor, Tensor> model, TrainingOptions options, string dir)
    {
        var data = new Data(options.Seed);
        return new Trainer<TrainingBatch>(model, Loss(model), data, options, Validator(model, data), dir, Header);
    }

    /// <summary>A new empty folder under this test process's own temp folder, which is deleted when the process
    /// exits (runs write checkpoints and datasets: hundreds of MB a suite, which filled the disk when kept).</summary>
    public static string TempDir()
    {
        var dir = Path.Combine(ProcessTempRoot.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    static readonly Lazy<string> ProcessTempRoot = new(() =>
    {
        var root = Path.Combine(Path.GetTempPath(), "pixelbox-tests", $"run-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(root, recursive: true); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // best effort: a crashed run's folder stays
        };
        return root;
    });
}
