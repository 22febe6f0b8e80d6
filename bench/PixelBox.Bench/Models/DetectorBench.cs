using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Training;
using TorchSharp;
using static PixelBox.Bench.BenchSupport;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// Detector latency per image, batch 1 (`dotnet run -c Release --project bench/PixelBox.Bench -- detector
/// [--model yolo | --checkpoint CKPT] [--sizes 64,640] [--runs 9] [--warmup 3] [--threads 2] [--out FILE]`):
/// for each input side, the whole <see cref="DetectionPredictor"/> path on a random image of that size
/// (letterbox, normalise, forward, raw outputs to managed memory, decode with threshold/top-k/NMS, boxes
/// mapped back) and the forward pass alone, with wall time and the process's CPU time per image (CPU time
/// is the honest figure on a busy host). A checkpoint gives trained weights and its settings; without one the
/// registry model is freshly initialised and decoded at score threshold 0.25 (an untrained model scores every
/// cell near its prior, which would time an NMS of thousands of boxes no trained model produces).
/// Writes bench/results/detector.json.
/// </summary>
public static class DetectorBench
{
    public static void Run(string[] args)
    {
        var runs = IntOption(args, "--runs", 9);
        var warmup = IntOption(args, "--warmup", 3);
        var threads = IntOption(args, "--threads", 2);
        var sizes = (StringOption(args, "--sizes") ?? "64,640").Split(',').Select(int.Parse).ToArray();
        var checkpoint = StringOption(args, "--checkpoint");
        var modelName = StringOption(args, "--model") ?? "yolo";
        var output = StringOption(args, "--out") ?? Path.Combine(RepoRoot(), "bench", "results", "detector.json");
        set_num_threads(threads);
        Console.WriteLine($"{modelName}{(checkpoint is null ? "" : $" ({checkpoint})")}, {threads} torch threads, load {LoadAverage()}");

        var results = new JsonArray();
        foreach (var size in sizes)
        {
            using var predictor = Predictor(checkpoint, modelName, size);
            var random = new Random(size);
            var pixels = new byte[size * size * 3];
            random.NextBytes(pixels);
            var image = new RgbImage(size, size, pixels);
            var (input, _) = predictor.Prepare(image);
            using var batch = PixelBox.Data.DetectionBatchLoader.Collate([input], predictor.Info.Settings.Normalization);

            var whole = Time(() => predictor.Predict(image), warmup, runs);
            var forward = Time(() =>
            {
                using var noGrad = no_grad();
                using var scope = NewDisposeScope();
                predictor.Model.forward(batch.Images);
            }, warmup, runs);
            Console.WriteLine($"  {size}x{size}: whole path {whole.Wall * 1e3:F1} ms wall / {whole.Cpu * 1e3:F1} ms CPU, " +
                              $"forward {forward.Wall * 1e3:F1} ms wall / {forward.Cpu * 1e3:F1} ms CPU");
            results.Add(new JsonObject
            {
                ["input_size"] = size,
                ["whole_path_ms_median_wall"] = Math.Round(whole.Wall * 1e3, 2),
                ["whole_path_ms_cpu_per_image"] = Math.Round(whole.Cpu * 1e3, 2),
                ["forward_ms_median_wall"] = Math.Round(forward.Wall * 1e3, 2),
                ["forward_ms_cpu_per_image"] = Math.Round(forward.Cpu * 1e3, 2),
                ["score_threshold"] = predictor.Settings.ScoreThreshold,
            });
        }
        var report = new JsonObject
        {
            ["benchmark"] = "detector",
            ["model"] = modelName,
            ["checkpoint"] = checkpoint,
            ["torch_threads"] = threads,
            ["runs"] = runs,
            ["load_average"] = LoadAverage(),
            ["results"] = results,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        File.WriteAllText(output, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        Console.WriteLine($"wrote {output}");
    }

    static DetectionPredictor Predictor(string? checkpoint, string modelName, int size)
    {
        if (checkpoint is not null)
        {
            // float32 NCHW, the precision of the PyTorch reference this is compared with
            var loaded = DetectionPredictor.Load(checkpoint, InferenceOptions.Exact);
            loaded.Settings = loaded.Settings with { InputSize = size };
            return loaded;
        }
        manual_seed(1);
        var entry = ModelRegistry.Get(modelName);
        DetectionSettings defaults;
        using (var probe = entry.CreateDetection(80, 3, device: META))
            defaults = probe.Settings with { InputSize = size, ScoreThreshold = 0.25 };
        var info = new DetectionModelInfo(modelName, 80, 3, [.. Enumerable.Range(0, 80).Select(i => $"class{i}")], null, defaults);
        var model = info.CreateModel();
        model.eval();
        return new DetectionPredictor(model, info);
    }

    /// <summary>Median wall seconds and mean CPU seconds of the timed runs.</summary>
    static (double Wall, double Cpu) Time(Action action, int warmup, int runs)
    {
        for (int i = 0; i < warmup; i++)
            action();
        var walls = new double[runs];
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        for (int r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            action();
            walls[r] = clock.Elapsed.TotalSeconds;
        }
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds / runs;
        Array.Sort(walls);
        return (walls[runs / 2], cpu);
    }
}
