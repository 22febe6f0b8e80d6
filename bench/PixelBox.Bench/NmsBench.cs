using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Boxes;
using static PixelBox.Bench.BenchSupport;

namespace PixelBox.Bench;

/// <summary>
/// `-- nms [--rounds 3] [--iou 0.5] [--out FILE]`: PixelBox's Nms.Keep / Nms.KeepBatched against
/// torchvision.ops.nms / batched_nms (Debian's python3-torchvision, bench/python/nms_bench.py) on the
/// same inputs, 1,000 and 10,000 boxes of detector-like output (clusters of jittered boxes around objects
/// of 16-256 px in a 1024x1024 image, plus low-scoring clutter; 80 classes), IoU 0.5. Rounds alternate
/// ours and torchvision so both see the same machine load; the kept indices must be equal. Writes
/// bench/results/nms.json (median / min / max per call, runs, machine, load average).
/// </summary>
static class NmsBench
{
    sealed record Case(string Name, int N, float[] Boxes, float[] Scores, long[] Classes, int Runs);

    public static int Run(string[] args)
    {
        int rounds = IntOption(args, "--rounds", 3);
        double iou = StringOption(args, "--iou") is { } s ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 0.5;
        var output = StringOption(args, "--out") ?? Path.Combine(RepoRoot(), "bench", "results", "nms.json");
        var cases = new[]
        {
            Make("1k", 1_000, seed: 1, runs: 300), Make("10k", 10_000, seed: 2, runs: 40),
            MakeUniform("1k-uniform", 1_000, seed: 3, runs: 100), MakeUniform("10k-uniform", 10_000, seed: 4, runs: 10),
        };
        var python = FindPython();
        if (python is null)
        {
            Console.Error.WriteLine("python3 with torchvision not found (apt-get install python3-torchvision): nothing to compare with");
            return 1;
        }
        var dir = Directory.CreateTempSubdirectory("pixelbox-nms-bench-");
        try
        {
            foreach (var c in cases)
                WriteCase(Path.Combine(dir.FullName, c.Name + ".bin"), c);
            var ours = new Dictionary<string, List<double>>();
            var theirs = new Dictionary<string, List<double>>();
            var same = new Dictionary<string, bool>();
            string? versions = null;
            string loadBefore = LoadAverage() ?? "";
            for (int round = 0; round < rounds; round++)
            {
                foreach (var c in cases)
                {
                    Add(ours, $"{c.Name}/nms", Time(() => Nms.Keep(c.Boxes, c.Scores, iou), c.Runs));
                    Add(ours, $"{c.Name}/batched_nms", Time(() => Nms.KeepBatched(c.Boxes, c.Scores, c.Classes, iou), c.Runs));
                }
                var lines = RunPython(python, dir.FullName, cases, iou);
                foreach (var line in lines)
                {
                    var e = JsonNode.Parse(line)!;
                    if (e["case"] is null)
                    {
                        versions = $"torch {e["torch"]}, torchvision {e["torchvision"]}, {e["torch_threads"]} torch threads";
                        continue;
                    }
                    var c = cases.Single(k => k.Name == e["case"]!.GetValue<string>());
                    string op = e["op"]!.GetValue<string>(), key = $"{c.Name}/{op}";
                    Add(theirs, key, e["seconds"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray());
                    var keep = e["keep"]!.AsArray().Select(v => v!.GetValue<int>()).ToArray();
                    var mine = op == "nms" ? Nms.Keep(c.Boxes, c.Scores, iou) : Nms.KeepBatched(c.Boxes, c.Scores, c.Classes, iou);
                    same[key] = same.GetValueOrDefault(key, true) && keep.SequenceEqual(mine);
                }
                Console.WriteLine($"round {round + 1}/{rounds} done (load average {LoadAverage()})");
            }
            var results = new JsonArray();
            foreach (var key in ours.Keys)
            {
                var c = cases.Single(k => key.StartsWith(k.Name + "/"));
                double mine = Median(ours[key]), other = Median(theirs[key]);
                Console.WriteLine($"{key,-16} n={c.N,6}: ours {mine * 1e3,8:F3} ms, torchvision {other * 1e3,8:F3} ms, ratio {other / mine,6:F1}x, same kept: {same[key]}");
                results.Add(new JsonObject
                {
                    ["case"] = key,
                    ["boxes"] = c.N,
                    ["kept"] = (key.EndsWith("/nms") ? Nms.Keep(c.Boxes, c.Scores, iou) : Nms.KeepBatched(c.Boxes, c.Scores, c.Classes, iou)).Length,
                    ["same_kept_indices"] = same[key],
                    ["ours"] = Stats(ours[key]),
                    ["torchvision"] = Stats(theirs[key]),
                    ["ratio_median"] = Math.Round(other / mine, 1),
                });
            }
            var doc = new JsonObject
            {
                ["benchmark"] = "NMS per call: PixelBox Nms.Keep / KeepBatched (float32 spans) vs torchvision.ops.nms / batched_nms (CPU tensors), same inputs",
                ["data"] = "1k, 10k: detector-like boxes: n/40 objects of 16-256 px in 1024x1024, boxes jittered around them (centre sd 10% of the size, log-size sd 0.15), 15% uniform clutter with low scores, 80 classes; *-uniform: uniform centres in 640x480, sides log-uniform 8-256 px, uniform scores, 80 classes (few suppressions, the slow case for torchvision); distinct float32 scores",
                ["iou_threshold"] = iou,
                ["rounds"] = rounds,
                ["reference"] = versions,
                ["results"] = results,
                ["machine"] = new JsonObject
                {
                    ["cpu"] = Cpu(),
                    ["logical_cores"] = Environment.ProcessorCount,
                    ["os"] = RuntimeInformation.OSDescription,
                    ["load_average_before"] = loadBefore,
                    ["load_average"] = LoadAverage(),
                },
            };
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            File.WriteAllText(output, doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine("wrote " + output);
            return same.Values.All(v => v) ? 0 : 1;
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    static Case Make(string name, int n, int seed, int runs)
    {
        var random = new Random(seed);
        int objects = Math.Max(1, n / 40);
        var objs = new (double Cx, double Cy, double W, double H, double Confidence, long Class)[objects];
        for (int k = 0; k < objects; k++)
        {
            double size = Math.Exp(Math.Log(16) + random.NextDouble() * (Math.Log(256) - Math.Log(16)));
            double aspect = Math.Exp((random.NextDouble() - 0.5) * 1.2);
            objs[k] = (random.NextDouble() * 1024, random.NextDouble() * 1024, size * aspect, size / aspect,
                0.3 + 0.7 * random.NextDouble(), random.Next(80));
        }
        var boxes = new float[4 * n];
        var scores = new float[n];
        var classes = new long[n];
        var used = new HashSet<float>();
        for (int i = 0; i < n; i++)
        {
            double cx, cy, w, h, score;
            long cls;
            if (random.NextDouble() < 0.15)
            {
                (w, h) = (8 + random.NextDouble() * 200, 8 + random.NextDouble() * 200);
                (cx, cy) = (random.NextDouble() * 1024, random.NextDouble() * 1024);
                (score, cls) = (0.3 * random.NextDouble(), random.Next(80));
            }
            else
            {
                var o = objs[random.Next(objects)];
                cx = o.Cx + Gaussian(random) * 0.1 * o.W;
                cy = o.Cy + Gaussian(random) * 0.1 * o.H;
                w = o.W * Math.Exp(Gaussian(random) * 0.15);
                h = o.H * Math.Exp(Gaussian(random) * 0.15);
                score = o.Confidence * (0.5 + 0.5 * random.NextDouble());
                cls = random.NextDouble() < 0.9 ? o.Class : random.Next(80);
            }
            float s;
            do
                s = (float)score + (float)(random.NextDouble() * 1e-4);
            while (!used.Add(s));
            boxes[4 * i] = (float)Math.Clamp(cx - w / 2, 0, 1024);
            boxes[4 * i + 1] = (float)Math.Clamp(cy - h / 2, 0, 1024);
            boxes[4 * i + 2] = (float)Math.Clamp(cx + w / 2, 0, 1024);
            boxes[4 * i + 3] = (float)Math.Clamp(cy + h / 2, 0, 1024);
            (scores[i], classes[i]) = (s, cls);
        }
        return new Case(name, n, boxes, scores, classes, runs);
    }

    /// <summary>torchvision's own test boxes: uniform centres in 640x480, sides log-uniform 8-256 px, uniform scores (few suppressions).</summary>
    static Case MakeUniform(string name, int n, int seed, int runs)
    {
        var random = new Random(seed);
        var boxes = new float[4 * n];
        var scores = new float[n];
        var classes = new long[n];
        var used = new HashSet<float>();
        for (int i = 0; i < n; i++)
        {
            double cx = random.NextDouble() * 640, cy = random.NextDouble() * 480;
            double w = Math.Exp(Math.Log(8) + random.NextDouble() * Math.Log(32)), h = Math.Exp(Math.Log(8) + random.NextDouble() * Math.Log(32));
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) =
                ((float)Math.Clamp(cx - w / 2, 0, 640), (float)Math.Clamp(cy - h / 2, 0, 480), (float)Math.Clamp(cx + w / 2, 0, 640), (float)Math.Clamp(cy + h / 2, 0, 480));
            float s;
            do
                s = (float)random.NextDouble();
            while (!used.Add(s));
            (scores[i], classes[i]) = (s, random.Next(80));
        }
        return new Case(name, n, boxes, scores, classes, runs);
    }

    static double Gaussian(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    static void WriteCase(string path, Case c)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(c.N);
        foreach (var v in c.Boxes) w.Write(v);
        foreach (var v in c.Scores) w.Write(v);
        foreach (var v in c.Classes) w.Write(v);
    }

    static double[] Time(Func<int[]> call, int runs)
    {
        for (int i = 0; i < 5; i++)
            call();
        var seconds = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            call();
            seconds[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        return seconds;
    }

    static void Add(Dictionary<string, List<double>> d, string key, double[] values)
    {
        if (!d.TryGetValue(key, out var list))
            d[key] = list = [];
        list.AddRange(values);
    }

    static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    static JsonObject Stats(List<double> v) => new()
    {
        ["median_ms"] = Math.Round(Median(v) * 1e3, 4),
        ["min_ms"] = Math.Round(v.Min() * 1e3, 4),
        ["max_ms"] = Math.Round(v.Max() * 1e3, 4),
        ["runs"] = v.Count,
    };

    static string? FindPython() =>
        new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => RunProcess(p, ["-c", "import torchvision"], out _) == 0);

    static string[] RunPython(string python, string dir, Case[] cases, double iou)
    {
        var script = Path.Combine(RepoRoot(), "bench", "python", "nms_bench.py");
        var arguments = new List<string> { script, "--iou", iou.ToString(System.Globalization.CultureInfo.InvariantCulture), "--runs" };
        arguments.AddRange(cases.Select(c => c.Runs.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        arguments.Add("--case");
        arguments.AddRange(cases.Select(c => $"{c.Name}={Path.Combine(dir, c.Name + ".bin")}"));
        if (RunProcess(python, arguments.ToArray(), out var stdout) != 0)
            throw new InvalidOperationException($"{script} failed:\n{stdout}");
        return stdout.Split('\n').Where(l => l.StartsWith('{')).ToArray();
    }

    static int RunProcess(string file, string[] arguments, out string stdout)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            stdout += error.Result;
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            stdout = e.Message;
            return -1;
        }
    }

    static string? Cpu() => File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim()
        : null;
}
