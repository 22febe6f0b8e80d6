using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using PixelBox.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Bench;

/// <summary>Label data for the confusion-matrix benchmarks: one 512x512 image, 19 classes (Cityscapes-sized).</summary>
public static class ConfusionMatrixData
{
    public const int Side = 512;
    public const int Classes = 19;

    /// <summary>
    /// "random": independent uniform labels, the worst case for our kernel (no uniform runs to exploit).
    /// "masks": mask-like data: GT made of overlapping rectangles, prediction = GT shifted by (3, 2) pixels with
    /// 1% of pixels flipped to a random class (boundary errors plus noise, as from a decent model).
    /// </summary>
    public static (byte[] Gt, byte[] Pred) Create(string kind)
    {
        var rng = new Random(19);
        int n = Side * Side;
        var gt = new byte[n];
        var pred = new byte[n];
        if (kind == "random")
        {
            rng.NextBytes(gt);
            rng.NextBytes(pred);
            for (int i = 0; i < n; i++) { gt[i] %= Classes; pred[i] %= Classes; }
            return (gt, pred);
        }
        for (int r = 0; r < 60; r++)
        {
            int x0 = rng.Next(Side), y0 = rng.Next(Side), w = rng.Next(16, 200), h = rng.Next(16, 200);
            byte c = (byte)rng.Next(Classes);
            for (int y = y0; y < Math.Min(Side, y0 + h); y++)
                gt.AsSpan(y * Side + x0, Math.Min(Side, x0 + w) - x0).Fill(c);
        }
        for (int y = 0; y < Side; y++)
            for (int x = 0; x < Side; x++)
            {
                int sy = Math.Max(0, y - 2), sx = Math.Max(0, x - 3);
                pred[y * Side + x] = rng.Next(100) == 0 ? (byte)rng.Next(Classes) : gt[sy * Side + sx];
            }
        return (gt, pred);
    }

    /// <summary>The baseline: the usual PyTorch idiom, bincount over gt*C+pred (int64, as bincount needs).</summary>
    public static void TorchBincount(Tensor gt, Tensor pred)
    {
        using var scope = NewDisposeScope();
        var index = gt.to_type(ScalarType.Int64) * Classes + pred.to_type(ScalarType.Int64);
        var histogram = bincount(index.flatten(), minlength: Classes * Classes);
        if (histogram.shape[0] != Classes * Classes) throw new InvalidOperationException("unexpected bincount size");
    }
}

/// <summary>BenchmarkDotNet version: <c>dotnet run -c Release --project bench/PixelBox.Bench -- --filter *ConfusionMatrix*</c>.</summary>
[MemoryDiagnoser]
public class ConfusionMatrixBenchmarks
{
    byte[] gt = [], pred = [];
    Tensor? gtTensor, predTensor;
    readonly ConfusionMatrix matrix = new(ConfusionMatrixData.Classes, 255);

    [Params("random", "masks")]
    public string Data { get; set; } = "random";

    [GlobalSetup]
    public void Setup()
    {
        (gt, pred) = ConfusionMatrixData.Create(Data);
        gtTensor = tensor(gt, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
        predTensor = tensor(pred, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        gtTensor?.Dispose();
        predTensor?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void TorchBincount() => ConfusionMatrixData.TorchBincount(gtTensor!, predTensor!);

    [Benchmark]
    public void ConfusionMatrixUpdate() => matrix.Update(gt, pred);
}

/// <summary>
/// Quick Stopwatch measurement (<c>dotnet run -c Release --project bench/PixelBox.Bench -- cm [out.json]</c>): per-call
/// times of our update (both cores) and of the TorchSharp baseline on the same data in the same process; the median call
/// is the headline, the fastest call is kept too (on a busy machine it shows the undisturbed speed). Written to
/// bench/results/confusion_matrix.json. The headline figures use the random labels (our worst case).
/// </summary>
public static class ConfusionMatrixQuickBench
{
    record Speeds(double Median, double Best);

    public static void Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "bench", "results", "confusion_matrix.json");
        var results = new Dictionary<string, (Speeds Ours, Speeds TorchDefault, Speeds TorchOneThread)>();
        int torchThreads = get_num_threads();
        foreach (var kind in new[] { "random", "masks" })
        {
            var (gt, pred) = ConfusionMatrixData.Create(kind);
            using var gtTensor = tensor(gt, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
            using var predTensor = tensor(pred, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
            var matrix = new ConfusionMatrix(ConfusionMatrixData.Classes, 255);
            var ours = PixelsPerSecond(() => matrix.Update(gt, pred), gt.Length);
            // libtorch's parallel regions can lose more to thread hand-offs than they gain on 2 cores, so the baseline
            // is timed with its default thread count and with one thread, and the faster one is the baseline.
            var torchDefault = PixelsPerSecond(() => ConfusionMatrixData.TorchBincount(gtTensor, predTensor), gt.Length);
            set_num_threads(1);
            var torchOne = PixelsPerSecond(() => ConfusionMatrixData.TorchBincount(gtTensor, predTensor), gt.Length);
            set_num_threads(torchThreads);
            results[kind] = (ours, torchDefault, torchOne);
            var baseline = Faster(torchDefault, torchOne);
            Console.WriteLine($"{kind,-7} median call: ours {ours.Median / 1e6,6:F0} Mpx/s, torch bincount {torchDefault.Median / 1e6,5:F0} Mpx/s ({torchThreads} threads) "
                + $"{torchOne.Median / 1e6,5:F0} Mpx/s (1 thread), ratio {ours.Median / baseline.Median,5:F1}x   "
                + $"| fastest call: ours {ours.Best / 1e6,6:F0}, torch {baseline.Best / 1e6,5:F0}, ratio {ours.Best / baseline.Best,5:F1}x");
        }

        AtomicFile.Write(output, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            w.WriteStartObject();
            w.WriteString("benchmark", $"ConfusionMatrix.Update, {ConfusionMatrixData.Side}x{ConfusionMatrixData.Side} byte labels, {ConfusionMatrixData.Classes} classes, both cores, vs torch.bincount(C*gt+pred, minlength=C*C) incl. the int64 conversion");
            w.WriteString("statistic", "median per-call time; *_best fields: fastest call");
            w.WriteString("data", "headline: random (uniform independent labels, the worst case for ours); by_data.masks: mask-like rectangles, prediction shifted by (3, 2) px with 1% noise");
            w.WriteString("baseline_threads", $"the faster of libtorch's default ({torchThreads}) threads and 1 thread");
            WriteSpeeds(w, results["random"]);
            w.WriteStartObject("by_data");
            foreach (var (kind, speeds) in results)
            {
                w.WriteStartObject(kind);
                WriteSpeeds(w, speeds);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("machine");
            w.WriteString("cpu", CpuModel());
            w.WriteNumber("logical_cores", Environment.ProcessorCount);
            w.WriteString("load_average", LoadAverage());
            w.WriteString("os", RuntimeInformation.OSDescription);
            w.WriteString("runtime", RuntimeInformation.FrameworkDescription);
            w.WriteEndObject();
            w.WriteString("measured_utc", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));
            w.WriteEndObject();
        });
        Console.WriteLine($"wrote {output}");
    }

    static Speeds Faster(Speeds a, Speeds b) => new(Math.Max(a.Median, b.Median), Math.Max(a.Best, b.Best));

    static void WriteSpeeds(Utf8JsonWriter w, (Speeds Ours, Speeds TorchDefault, Speeds TorchOneThread) s)
    {
        var baseline = Faster(s.TorchDefault, s.TorchOneThread);
        w.WriteNumber("ours_pixels_per_s", Math.Round(s.Ours.Median));
        w.WriteNumber("baseline_pixels_per_s", Math.Round(baseline.Median));
        w.WriteNumber("ratio", Math.Round(s.Ours.Median / baseline.Median, 2));
        w.WriteNumber("ours_best_pixels_per_s", Math.Round(s.Ours.Best));
        w.WriteNumber("baseline_best_pixels_per_s", Math.Round(baseline.Best));
        w.WriteNumber("ratio_best", Math.Round(s.Ours.Best / baseline.Best, 2));
        w.WriteNumber("baseline_default_threads_pixels_per_s", Math.Round(s.TorchDefault.Median));
        w.WriteNumber("baseline_one_thread_pixels_per_s", Math.Round(s.TorchOneThread.Median));
    }

    static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Trim(); }
        catch (IOException) { return "unknown"; }
    }

    /// <summary>Per-call timings over ~1.5 s after a warm-up (JIT tiers, thread pool): the median call and the fastest
    /// call, as pixels per second. Calls take tens to hundreds of microseconds, well above the timer resolution.</summary>
    static Speeds PixelsPerSecond(Action update, int pixels)
    {
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < 0.5) update();
        var seconds = new List<double>();
        total.Restart();
        while (total.Elapsed.TotalSeconds < 1.5 && seconds.Count < 20_000)
        {
            long start = Stopwatch.GetTimestamp();
            update();
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        seconds.Sort();
        return new Speeds(pixels / seconds[seconds.Count / 2], pixels / seconds[0]);
    }

    static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line != null) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PixelBox.sln")))
                return dir.FullName;
        throw new InvalidOperationException("run from inside the repository (PixelBox.sln not found), or pass the output path");
    }
}
