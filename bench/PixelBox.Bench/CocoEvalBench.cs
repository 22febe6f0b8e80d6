using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using PixelBox.Coco;

namespace PixelBox.Bench;

/// <summary>
/// End-to-end COCO evaluation of a large workload (make_fixtures.py --large DIR): JSON load + evaluate +
/// accumulate + summarize in process (warm-up, then repeated runs: median/min/max), the whole
/// `pixelbox eval coco` process wall time and peak RSS, and a check of the numbers against
/// large_expected.json. Stopwatch rather than BenchmarkDotNet: one run takes about a second and the
/// quantity of interest includes I/O and the process itself.
/// </summary>
public static class CocoEvalBench
{
    public static int Run(string[] args)
    {
        string? data = null, expected = null, output = "bench/results/coco_eval.json", cli = null;
        string iouType = "bbox";
        int runs = 7, warmup = 2, processRuns = 5;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data": data = args[++i]; break;
                case "--expected": expected = args[++i]; break;
                case "--out": output = args[++i]; break;
                case "--runs": runs = int.Parse(args[++i]); break;
                case "--warmup": warmup = int.Parse(args[++i]); break;
                case "--process-runs": processRuns = int.Parse(args[++i]); break;
                case "--cli": cli = args[++i]; break;
                case "--iou-type": iouType = args[++i]; break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }
        if (data is null)
        {
            Console.Error.WriteLine("usage: coco --data DIR [--expected large_expected.json] [--out FILE] [--runs N] [--warmup N] [--cli PixelBox.Cli.dll] [--process-runs N] [--iou-type bbox|segm]");
            return 2;
        }
        var type = iouType == "segm" ? CocoIouType.Segm : CocoIouType.Bbox;
        string gtPath = Path.Combine(data, "gt.json"), dtPath = Path.Combine(data, "dt.json");
        expected ??= FindShared("fixtures/coco/large_expected.json");

        var phases = new List<double[]>();
        CocoAccumulation? acc = null;
        CocoSummary? summary = null;
        for (int r = 0; r < warmup + runs; r++)
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var pause0 = GC.GetTotalPauseDuration();
            int gen0 = GC.CollectionCount(0), gen2 = GC.CollectionCount(2);
            var sw = Stopwatch.StartNew();
            var inputs = CocoFiles.Load(gtPath, dtPath, type);
            double load = sw.Elapsed.TotalMilliseconds;
            var cpuLoad = Process.GetCurrentProcess().TotalProcessorTime;
            var evaluation = new CocoEvaluator(inputs.GroundTruth, inputs.Detections, new CocoParams { IouType = type }).Evaluate();
            double evaluate = sw.Elapsed.TotalMilliseconds;
            var cpuEval = Process.GetCurrentProcess().TotalProcessorTime;
            acc = evaluation.Accumulate();
            double accumulate = sw.Elapsed.TotalMilliseconds;
            var cpuAcc = Process.GetCurrentProcess().TotalProcessorTime;
            summary = acc.Summarize();
            double total = sw.Elapsed.TotalMilliseconds;
            if (r >= warmup)
                phases.Add([load, evaluate - load, accumulate - evaluate, total - accumulate, total]);
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds;
            Console.WriteLine($"run {r + 1}{(r < warmup ? " (warm-up)" : "")}: load {load:F0} ms, evaluate {evaluate - load:F0} ms, accumulate {accumulate - evaluate:F0} ms, summarize {total - accumulate:F0} ms, total {total:F0} ms (cpu: load {(cpuLoad - cpu0).TotalMilliseconds:F0}, evaluate {(cpuEval - cpuLoad).TotalMilliseconds:F0}, accumulate {(cpuAcc - cpuEval).TotalMilliseconds:F0}, all {cpu:F0} ms; GC pause {(GC.GetTotalPauseDuration() - pause0).TotalMilliseconds:F0} ms, {GC.CollectionCount(0) - gen0} gen0 / {GC.CollectionCount(2) - gen2} gen2)");
        }
        long inProcessPeak = PeakRssBytes();
        Console.Write(summary!.Text);

        var check = expected is not null && File.Exists(expected) ? Check(expected, iouType, acc!, summary) : null;
        if (check is not null)
            Console.WriteLine($"check vs {expected}: {check}");

        var process = cli is not null ? MeasureProcess(cli, gtPath, dtPath, iouType, processRuns) : null;

        var names = new[] { "load_ms", "evaluate_ms", "accumulate_ms", "summarize_ms", "total_ms" };
        var result = new Dictionary<string, object?>
        {
            ["workload"] = new Dictionary<string, object?>
            {
                ["data"] = Path.GetFullPath(data), ["iou_type"] = iouType,
                ["gt_bytes"] = new FileInfo(gtPath).Length, ["dt_bytes"] = new FileInfo(dtPath).Length,
            },
            ["machine"] = new Dictionary<string, object?>
            {
                ["cores"] = Environment.ProcessorCount, ["os"] = RuntimeInformation.OSDescription,
                ["runtime"] = RuntimeInformation.FrameworkDescription,
                ["load_average_at_end"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null,
            },
            ["in_process"] = new Dictionary<string, object?>
            {
                ["runs"] = runs, ["warmup"] = warmup,
                ["phases"] = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => (object)Stats(phases.Select(p => p[x.i]))),
                // the harness keeps earlier runs' garbage around: an upper bound, see process.peak_rss_mb
                ["peak_rss_mb"] = Math.Round(inProcessPeak / 1048576.0, 1),
            },
            ["process"] = process,
            ["check"] = check,
            ["stats"] = summary.Stats,
            ["measured_utc"] = DateTime.UtcNow.ToString("u"),
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null)
            Directory.CreateDirectory(dir);
        // one file, one entry per IoU type: re-running bbox keeps the segm figures and vice versa
        var all = new Dictionary<string, JsonElement>();
        if (File.Exists(output))
        {
            try
            {
                using var old = JsonDocument.Parse(File.ReadAllBytes(output));
                foreach (var prop in old.RootElement.EnumerateObject())
                    all[prop.Name] = prop.Value.Clone();
            }
            catch (JsonException)
            {
            }
        }
        all[iouType] = JsonSerializer.SerializeToElement(result);
        var tmp = output + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(all, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(tmp, output, overwrite: true);
        Console.WriteLine($"wrote {output}");
        return check is null || check.StartsWith("exact", StringComparison.Ordinal) || check.StartsWith("within", StringComparison.Ordinal) ? 0 : 1;
    }

    static Dictionary<string, double> Stats(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        double median = v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
        return new() { ["median"] = Math.Round(median, 1), ["min"] = Math.Round(v[0], 1), ["max"] = Math.Round(v[^1], 1) };
    }

    /// <summary>Compares stats, precision[:, :, :, all, 100] and recall with expected.json; "exact" when bit-identical.</summary>
    static string Check(string expectedPath, string iouType, CocoAccumulation acc, CocoSummary summary)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(expectedPath));
        if (!doc.RootElement.TryGetProperty(iouType, out var e))
            return $"no '{iouType}' block in expected file";
        var expected = new List<double>();
        var actual = new List<double>();
        expected.AddRange(e.GetProperty("stats").EnumerateArray().Select(x => x.GetDouble()));
        actual.AddRange(summary.Stats);
        expected.AddRange(e.GetProperty("precision_all_100").GetProperty("values").EnumerateArray().Select(x => x.GetDouble()));
        for (int t = 0; t < acc.T; t++)
            for (int r = 0; r < acc.R; r++)
                for (int k = 0; k < acc.K; k++)
                    actual.Add(acc.PrecisionAt(t, r, k, 0, acc.M - 1));
        expected.AddRange(e.GetProperty("recall").GetProperty("values").EnumerateArray().Select(x => x.GetDouble()));
        actual.AddRange(acc.Recall);
        if (expected.Count != actual.Count)
            return $"MISMATCH: {expected.Count} expected values, {actual.Count} computed";
        int differ = 0;
        double maxDiff = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            if (expected[i] != actual[i]) differ++;
            maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
        }
        if (differ == 0)
            return $"exact ({expected.Count} values bit-identical)";
        return maxDiff <= 1e-9 ? $"within 1e-9 ({differ} of {expected.Count} differ, max {maxDiff:E2})" : $"MISMATCH: {differ} of {expected.Count} values differ, max {maxDiff:E2}";
    }

    /// <summary>Runs `dotnet PixelBox.Cli.dll eval coco ...` as a child: wall time and peak RSS.</summary>
    static Dictionary<string, object?> MeasureProcess(string cli, string gt, string dt, string iouType, int runs)
    {
        var walls = new List<double>();
        long peakKb = -1;
        // GNU time reports the CLI's own peak RSS; getrusage(RUSAGE_CHILDREN) would include this
        // process's RSS inherited across fork.
        const string Time = "/usr/bin/time";
        for (int r = 0; r < runs + 1; r++)
        {
            bool isExe = !cli.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
            var psi = new ProcessStartInfo(Time) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-f", "maxrss_kb=%M", isExe ? cli : "dotnet" })
                psi.ArgumentList.Add(a);
            if (!isExe) psi.ArgumentList.Add(cli);
            foreach (var a in new[] { "eval", "coco", "--gt", gt, "--dt", dt, "--iou-type", iouType })
                psi.ArgumentList.Add(a);
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            double wall = sw.Elapsed.TotalMilliseconds;
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"CLI failed ({p.ExitCode}): {stderr.Result}");
            _ = stdout.Result;
            foreach (var line in stderr.Result.Split('\n'))
                if (line.StartsWith("maxrss_kb=", StringComparison.Ordinal))
                    peakKb = Math.Max(peakKb, long.Parse(line["maxrss_kb=".Length..]));
            if (r > 0) // the first run warms the disk cache
                walls.Add(wall);
            Console.WriteLine($"process run {r + 1}{(r == 0 ? " (warm-up)" : "")}: {wall:F0} ms");
        }
        return new Dictionary<string, object?>
        {
            ["command"] = $"dotnet {cli} eval coco --gt GT --dt DT --iou-type {iouType}",
            ["runs"] = runs,
            ["wall_ms"] = Stats(walls),
            ["peak_rss_mb"] = Math.Round(peakKb / 1024.0, 1),
        };
    }

    static long PeakRssBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return -1;
    }

    static string? FindShared(string relative)
    {
        var env = Environment.GetEnvironmentVariable("PIXELBOX_SHARED");
        if (!string.IsNullOrEmpty(env) && File.Exists(Path.Combine(env, relative)))
            return Path.Combine(env, relative);
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "shared", relative);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
