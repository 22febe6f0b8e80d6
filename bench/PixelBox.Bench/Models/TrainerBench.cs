using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Losses;
using PixelBox.Models.Segmentation;
using PixelBox.Training;
using TorchSharp;
using TorchSharp.Modules;
using static PixelBox.Bench.BenchSupport;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// What the trainer and the data pipeline cost on top of the bare network
/// (`dotnet run -c Release --project bench/PixelBox.Bench -- trainer [--steps N] [--warmup 3] [--rounds 3]
/// [--threads 2] [--config NAME] [--out FILE]`). For each configuration, in one run and in turn:
/// <list type="bullet">
/// <item>bare: a plain TorchSharp loop (zero_grad, forward, loss, backward, step, item) over batches held in memory;</item>
/// <item>trainer: <see cref="Trainer"/> over the same in-memory batches (learning-rate setting, dispose scopes,
/// progress events, loss checks);</item>
/// <item>trainer + loader: <see cref="Trainer"/> fed by <see cref="SegmentationBatchLoader"/> from a mask-folder
/// dataset on disk (decode once, then augment and collate every batch on worker threads while the model trains).</item>
/// </list>
/// Step times are the gaps between consecutive optimizer steps after the warm-up, so epoch-end work
/// (checkpoints) is left out; the loader's share is also measured directly as the time the trainer waits
/// for a batch. Writes bench/results/trainer.json.
/// </summary>
public static class TrainerBench
{
    /// <param name="Steps">Timed steps per round (the small network needs many: its steps vary by tens of percent).</param>
    sealed record Config(string Name, string Description, int ImageSize, int Batch, int Crop, Func<nn.Module<Tensor, Tensor>> Model,
                         string Loss, OptimizerKind Optimizer, double LearningRate, int Steps);

    public static void Run(string[] args)
    {
        int warmup = IntOption(args, "--warmup", 3), rounds = IntOption(args, "--rounds", 3);
        int? steps = StringOption(args, "--steps") is { } s ? int.Parse(s) : null;
        int threads = IntOption(args, "--threads", 2);
        var output = StringOption(args, "--out") ?? Path.Combine(RepoRoot(), "bench", "results", "trainer.json");
        set_num_threads(threads);
        Console.WriteLine($"{Environment.ProcessorCount} cores, {threads} torch threads; {warmup} warm-up steps, {rounds} rounds");

        Config[] configs =
        [
            new("unet_same32_256", "U-Net same-padded 32..512, no BN, 5 classes, batch 4 of 256x256 crops (scale 0.5-2, flip), SGD momentum + cross-entropy",
                256, 4, 256, () => UNet.Same32(numClasses: 5, inChannels: 3), "ce", OptimizerKind.Sgd, 1e-3, 8),
            new("demo_unet_same16_64", "The demo's network: unet-same width 16 depth 4 with BN, batch 8 of whole 64x64 images, AdamW + ce+dice",
                64, 8, 0, () => UNet.Same(5, 3, baseWidth: 16, depth: 4, batchNorm: true), "ce+dice", OptimizerKind.AdamW, 3e-3, 40),
        ];

        var root = Directory.CreateTempSubdirectory("pbx-bench-trainer-").FullName;
        var results = new JsonArray();
        try
        {
            foreach (var config in configs.Where(c => StringOption(args, "--config") is not { } only || c.Name == only))
                results.Add(Measure(config, root, steps ?? config.Steps, warmup, rounds));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }

        var report = new JsonObject
        {
            ["benchmark"] = "trainer",
            ["machine"] = new JsonObject
            {
                ["cores"] = Environment.ProcessorCount,
                ["cpu"] = Cpu(),
                ["torch_threads"] = threads,
                ["load_average_at_end"] = LoadAverage(),
            },
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
            ["targets"] = "trainer_overhead <= 0.05 over the bare loop; data_loading_share <= 0.10 of a step",
            ["results"] = results,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        AtomicFile.WriteAllText(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        Console.WriteLine($"wrote {output}");
    }

    static JsonObject Measure(Config config, string root, int steps, int warmup, int rounds)
    {
        int total = warmup + steps;
        var dataDir = Path.Combine(root, config.Name);
        ShapesDataset.Generate(dataDir, total * config.Batch, config.ImageSize, seed: 3, valFraction: 0);
        var dataset = MaskFolderDataset.Open(dataDir, "train");
        var augmentation = config.Crop > 0 ? new SegmentationAugmentation(config.Crop) : null;
        var loader = new SegmentationBatchLoader(dataset, config.Batch, Normalization.ImageNet, augmentation, shuffle: true, seed: 1,
            dropLast: true, workers: 2);
        // The in-memory batches are the loader's own first epoch, so all three variants see the same tensors.
        var batches = loader.Epoch(1).Select(b => (Images: b.Images, Masks: b.Masks)).ToList();
        using var loss = SegmentationLoss.Create(config.Loss);

        var bare = new List<double>();
        var trainer = new List<double>();
        var loaded = new List<double>();
        var waits = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            bare.AddRange(BareLoop(config, batches, loss, warmup));
            trainer.AddRange(TrainerLoop(config, new MemoryData(batches), loss, warmup, Path.Combine(root, "run"), out _));
            var timed = new TimedLoaderData(loader);
            loaded.AddRange(TrainerLoop(config, timed, loss, warmup, Path.Combine(root, "run"), out var stepStarts));
            waits.AddRange(timed.WaitSeconds.Skip(warmup + 1).Take(stepStarts));
            Console.WriteLine($"  {config.Name} round {round + 1}/{rounds}: bare {Median(bare):F4} s, trainer {Median(trainer):F4} s, " +
                              $"trainer + loader {Median(loaded):F4} s per step (medians so far)");
        }
        foreach (var (images, masks) in batches)
        {
            images.Dispose();
            masks.Dispose();
        }

        double bareMedian = Median(bare), trainerMedian = Median(trainer), loadedMedian = Median(loaded);
        return new JsonObject
        {
            ["name"] = config.Name,
            ["description"] = config.Description,
            ["timed_steps"] = bare.Count,
            ["bare_step_s"] = Stats(bare),
            ["trainer_step_s"] = Stats(trainer),
            ["trainer_with_loader_step_s"] = Stats(loaded),
            ["trainer_overhead"] = Math.Round(trainerMedian / bareMedian - 1, 4),
            ["data_loading_share"] = Math.Round(loadedMedian / trainerMedian - 1, 4),
            ["data_wait_share"] = Math.Round(Median(waits) / loadedMedian, 4),
        };
    }

    /// <summary>Per-step seconds after <paramref name="warmup"/> steps of the plainest possible loop.</summary>
    static List<double> BareLoop(Config config, List<(Tensor Images, Tensor Masks)> batches, nn.Module<Tensor, Tensor, Tensor> loss, int warmup)
    {
        torch.manual_seed(5);
        using var model = config.Model();
        model.train();
        using var optimizer = CreateOptimizer(model, config);
        var seconds = new List<double>();
        for (int i = 0; i < batches.Count; i++)
        {
            var clock = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                optimizer.zero_grad();
                var value = loss.call(model.call(batches[i].Images), batches[i].Masks);
                value.backward();
                optimizer.step();
                value.item<float>();
            }
            if (i >= warmup) seconds.Add(clock.Elapsed.TotalSeconds);
        }
        return seconds;
    }

    /// <summary>Gaps between the trainer's consecutive step events after the warm-up (the first gap starts at step warmup).</summary>
    static List<double> TrainerLoop(Config config, ITrainingData<TrainingBatch> data, nn.Module<Tensor, Tensor, Tensor> loss, int warmup, string outDir,
                                    out int timedSteps)
    {
        if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
        torch.manual_seed(5);
        using var model = config.Model();
        var options = new TrainingOptions
        {
            Optimizer = config.Optimizer, LearningRate = config.LearningRate, WeightDecay = 0, Schedule = ScheduleKind.Constant,
            Iterations = data.BatchesPerEpoch, Seed = 1,
        };
        using var trainer = new Trainer<TrainingBatch>(model, batch => TrainingLoss.Of(loss.call(model.call(batch.Input), batch.Target)), data, options, validate: null, outDir,
            new JsonObject { ["model"] = new JsonObject() });
        var stamps = new List<double>();
        var clock = Stopwatch.StartNew();
        trainer.IterationCompleted += _ => stamps.Add(clock.Elapsed.TotalSeconds);
        trainer.Run();
        var gaps = new List<double>();
        for (int i = warmup; i + 1 < stamps.Count; i++)
            gaps.Add(stamps[i + 1] - stamps[i]);
        timedSteps = gaps.Count;
        return gaps;
    }

    static OptimizerHelper CreateOptimizer(nn.Module<Tensor, Tensor> model, Config config) => config.Optimizer == OptimizerKind.Sgd
        ? optim.SGD(model.parameters(), config.LearningRate, momentum: 0.9)
        : optim.AdamW(model.parameters(), config.LearningRate, weight_decay: 0);

    /// <summary>Fresh handles on the same in-memory tensors each epoch (the trainer disposes what it is given).</summary>
    sealed class MemoryData(List<(Tensor Images, Tensor Masks)> batches) : ITrainingData<TrainingBatch>
    {
        public int BatchesPerEpoch => batches.Count;

        public IEnumerable<TrainingBatch> Epoch(int epoch, int skip) => batches.Skip(skip).Select(b => new TrainingBatch(b.Images.alias(), b.Masks.alias()));
    }

    /// <summary>The loader's batches, recording how long the consumer waited for each one.</summary>
    sealed class TimedLoaderData(SegmentationBatchLoader loader) : ITrainingData<TrainingBatch>
    {
        public List<double> WaitSeconds { get; } = [];

        public int BatchesPerEpoch => loader.BatchesPerEpoch;

        public IEnumerable<TrainingBatch> Epoch(int epoch, int skip)
        {
            using var batches = loader.Epoch(epoch, skip).GetEnumerator();
            while (true)
            {
                var clock = Stopwatch.StartNew();
                if (!batches.MoveNext()) yield break;
                WaitSeconds.Add(clock.Elapsed.TotalSeconds);
                yield return new TrainingBatch(batches.Current.Images, batches.Current.Masks);
            }
        }
    }

    static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length == 0 ? double.NaN : s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    static JsonObject Stats(List<double> values) => new()
    {
        ["median"] = Math.Round(Median(values), 5),
        ["min"] = Math.Round(values.Min(), 5),
        ["max"] = Math.Round(values.Max(), 5),
    };

    static string? Cpu() => File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim()
        : null;
}
