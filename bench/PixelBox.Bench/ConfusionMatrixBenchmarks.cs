using System.Diagnostics;
using System.Runtime.InteropServices;
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
/// Quick Stopwatch measurement (<c>dotnet run -c Release --project bench/PixelBox.Bench -- cm [out.json]</c>): best
/// of repeated timed batches for our update and the TorchSharp baseline on the same data in the same process, written to
/// bench/results/confusion_matrix.json. The headline figures use the random labels (our worst case).
/// </summary>
public static class ConfusionMatrixQuickBench
{
    public static void Run(string[] args)
    {
        var output = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "bench", "results", "confusion_matrix.json");
        var results = new Dictionary<string, (double Ours, double Baseline)>();
        foreach (var kind in new[] { "random", "masks" })
        {
            var (gt, pred) = ConfusionMatrixData.Create(kind);
            using var gtTensor = tensor(gt, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
            using var predTensor = tensor(pred, [ConfusionMatrixData.Side, ConfusionMatrixData.Side]);
            var matrix = new ConfusionMatrix(ConfusionMatrixData.Classes, 255);
            double ours = PixelsPerSecond(() => matrix.Update(gt, pred), gt.Length);
            // libtorch's parallel regions can lose more to thread hand-offs than they gain on 2 cores, so the baseline
            // is timed with its default thread count and with one thread, and the faster figure is the baseline.
            int torchThreads = get_num_threads();
            double baselineDefault = PixelsPerSecond(() => ConfusionMatrixData.TorchBincount(gtTensor, predTensor), gt.Length);
            set_num_threads(1);
            double baselineOneThread = PixelsPerSecond(() => ConfusionMatrixData.TorchBincount(gtTensor, predTensor), gt.Length);
            set_num_threads(torchThreads);
            double baseline = Math.Max(baselineDefault, baselineOneThread);
            results[kind] = (ours, baseline);
            Console.WriteLine($"{kind,-7} ours {ours / 1e6,8:F0} Mpx/s   torch bincount {baselineDefault / 1e6,6:F0} Mpx/s ({torchThreads} threads), "
                + $"{baselineOneThread / 1e6,6:F0} Mpx/s (1 thread)   ratio {ours / baseline,6:F1}x");
        }

        var (headOurs, headBaseline) = results["random"];
        AtomicFile.Write(output, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            w.WriteStartObject();
            w.WriteString("benchmark", $"ConfusionMatrix.Update, {ConfusionMatrixData.Side}x{ConfusionMatrixData.Side} byte labels, {ConfusionMatrixData.Classes} classes, vs torch.bincount(C*gt+pred, minlength=C*C) incl. int64 conversion");
            w.WriteNumber("ours_pixels_per_s", Math.Round(headOurs));
            w.WriteNumber("baseline_pixels_per_s", Math.Round(headBaseline));
            w.WriteNumber("ratio", Math.Round(headOurs / headBaseline, 2));
            w.WriteString("data", "random (uniform independent labels; worst case for ours)");
            w.WriteString("statistic", "best of 41 timed batches of ~5 ms each");
            w.WriteString("baseline_threads", "the faster of libtorch's default thread count and 1 thread");
            w.WriteStartObject("by_data");
            foreach (var (kind, (o, b)) in results)
            {
                w.WriteStartObject(kind);
                w.WriteNumber("ours_pixels_per_s", Math.Round(o));
                w.WriteNumber("baseline_pixels_per_s", Math.Round(b));
                w.WriteNumber("ratio", Math.Round(o / b, 2));
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("machine");
            w.WriteString("cpu", CpuModel());
            w.WriteNumber("logical_cores", Environment.ProcessorCount);
            w.WriteNumber("torch_threads", get_num_threads());
            w.WriteString("os", RuntimeInformation.OSDescription);
            w.WriteString("runtime", RuntimeInformation.FrameworkDescription);
            w.WriteEndObject();
            w.WriteString("measured_utc", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"));
            w.WriteEndObject();
        });
        Console.WriteLine($"wrote {output}");
    }

    /// <summary>Best of 41 batches, each sized to take ~5 ms, after a warm-up second (JIT tiers, thread pool). The best
    /// rather than the median, because on a shared machine the slower batches measure other processes.</summary>
    static double PixelsPerSecond(Action update, int pixels)
    {
        var sw = Stopwatch.StartNew();
        int calls = 0;
        while (sw.Elapsed.TotalSeconds < 1) { update(); calls++; }
        int batch = Math.Max(1, (int)(calls * 0.005));
        double best = 0;
        for (int t = 0; t < 41; t++)
        {
            sw.Restart();
            for (int k = 0; k < batch; k++) update();
            best = Math.Max(best, (double)pixels * batch / sw.Elapsed.TotalSeconds);
        }
        return best;
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
