using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Inference;
using PixelBox.Models;
using TorchSharp;
using static PixelBox.Bench.BenchSupport;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// The segmentation zoo against PyTorch (`dotnet run -c Release --project bench/PixelBox.Bench -- zoo [--models a,b]
/// [--runs 5] [--warmup 2] [--threads 2] [--size 512] [--batch 2] [--classes 21] [--no-python] [--out FILE]`).
/// Per model, in one run: PixelBox's inference latency on one 1x3xSxS image (eval, no_grad) in float32 NCHW and on
/// the default inference path (<see cref="InferenceOptions.Default"/>: bf16 where the CPU has it natively,
/// channels-last where registered), and one training step (train mode, zero_grad + cross-entropy against random
/// labels at the output size + backward + SGD lr 0.01 momentum 0.9 step, on --batch images of SxS); right after,
/// the same architecture in PyTorch eager float32 (bench/python/zoo_bench.py), so both see the same load. Every
/// model gets the side S (the paper's U-Net the next side it takes: 524 for 512), 3 input channels and --classes
/// classes; weights are random (speed does not depend on them). Medians of --runs timed runs after --warmup;
/// ratios are PixelBox / PyTorch (above 1: PixelBox slower); parameter counts of both sides are compared.
/// Writes bench/results/zoo.json and prints the README table (`-- zoo-table [FILE]` prints it from a file).
/// </summary>
public static class ZooBench
{
    /// <summary>Wall seconds of each timed run and process CPU seconds per run.</summary>
    sealed record Timing(double[] Seconds, double CpuSeconds)
    {
        public double Median => BenchSupport.Median(Seconds);
    }

    sealed record PixelBoxTimings(long Parameters, int Side, int OutputSide, string DefaultPath, Timing Fp32, Timing Default, Timing Train);

    public static int Run(string[] args)
    {
        var runs = IntOption(args, "--runs", 5);
        var warmup = IntOption(args, "--warmup", 2);
        var threads = IntOption(args, "--threads", 2);
        var size = IntOption(args, "--size", 512);
        var batch = IntOption(args, "--batch", 2);
        var classes = IntOption(args, "--classes", 21);
        var names = StringOption(args, "--models")?.Split(',') ?? ModelRegistry.NamesOf(ModelTasks.Segmentation).ToArray();
        var output = StringOption(args, "--out") ?? Path.Combine(RepoRoot(), "bench", "results", "zoo.json");
        var unknown = names.Where(n => !ModelRegistry.NamesOf(ModelTasks.Segmentation).Contains(n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"not segmentation models of the registry: {string.Join(", ", unknown)}");
            return 2;
        }
        var python = args.Contains("--no-python") ? null : PythonWithTorchvision();
        set_num_threads(threads);
        var machine = Machine(threads);
        Console.WriteLine($"{machine["cpu"]}, {machine["cores"]} cores, {threads} torch threads; warm-up {warmup}, {runs} timed runs; " +
                          $"inference 1x3x{size}x{size}, train step {batch}x3x{size}x{size}, {classes} classes");

        var results = new JsonArray();
        string? pytorchVersion = null;
        foreach (var name in names)
        {
            var loadBefore = LoadAverage();
            var ours = TimePixelBox(name, size, batch, classes, warmup, runs);
            Console.WriteLine($"  {name}: {ours.Parameters:N0} parameters, fp32 {ours.Fp32.Median * 1e3:F0} ms, {ours.DefaultPath} {ours.Default.Median * 1e3:F0} ms, " +
                              $"train step {ours.Train.Median:F2} s");
            var theirs = python is null ? null : TimePyTorch(python, name, ours.Side, batch, classes, warmup, runs, threads);
            if (theirs is not null)
            {
                pytorchVersion = $"torch {theirs["torch"]}, torchvision {theirs["torchvision"]}";
                Console.WriteLine($"  {name} PyTorch: {theirs["parameters"]!.GetValue<long>():N0} parameters, fp32 {Median(Seconds(theirs, "inference_s")) * 1e3:F0} ms, " +
                                  $"train step {Median(Seconds(theirs, "train_step_s")):F2} s");
            }
            results.Add(Entry(name, ours, theirs, loadBefore));
        }

        var report = new JsonObject
        {
            ["benchmark"] = "zoo",
            ["machine"] = machine,
            ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
            ["pytorch"] = pytorchVersion,
            ["workloads"] = new JsonObject
            {
                ["inference"] = $"eval, no_grad, one 1x3x{size}x{size} image of random values, {classes} classes, random weights",
                ["inference_default"] = "PixelBox's default inference path (InferenceOptions.Default: bf16 where the CPU has it natively, channels-last where registered), same weights",
                ["train_step"] = $"train mode, zero_grad + cross-entropy against random labels at the output size + backward + SGD (lr 0.01, momentum 0.9) step, batch {batch}x3x{size}x{size}",
                ["pytorch"] = "the same architecture in PyTorch eager float32 NCHW (bench/python/zoo_bench.py), timed right after PixelBox's",
                ["ratio"] = "PixelBox median / PyTorch median (above 1: PixelBox slower)",
            },
            ["runs"] = runs,
            ["warmup"] = warmup,
            ["results"] = results,
            ["parameter_mismatches"] = new JsonArray([.. results.Where(r => r!["parameters"]!["equal"]?.GetValue<bool>() == false).Select(r => (JsonNode?)JsonValue.Create(r!["model"]!.GetValue<string>()))]),
            ["slower_than_pytorch"] = SlowerThanPyTorch(results),
        };
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        var temp = output + ".tmp";
        File.WriteAllText(temp, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        File.Move(temp, output, overwrite: true);
        foreach (var mismatch in report["parameter_mismatches"]!.AsArray())
            Console.WriteLine($"PARAMETER COUNTS DIFFER: {mismatch}");
        Console.WriteLine($"wrote {output}\n");
        Console.Write(Table(report));
        return 0;
    }

    /// <summary>`zoo-table [FILE]`: the README table of a zoo.json.</summary>
    public static int PrintTable(string[] args)
    {
        var path = args.FirstOrDefault() ?? Path.Combine(RepoRoot(), "bench", "results", "zoo.json");
        Console.Write(Table(JsonNode.Parse(File.ReadAllText(path))!));
        return 0;
    }

    static PixelBoxTimings TimePixelBox(string name, int size, int batch, int classes, int warmup, int runs)
    {
        var entry = ModelRegistry.Get(name);
        manual_seed(0);
        using var model = entry.CreateSegmentation(classes, 3);
        var side = SideFrom(model, size);
        var outputSide = model.OutputSize(side);
        var parameters = model.parameters().Sum(p => p.numel());
        using var image = randn(1, 3, side, side, generator: new Generator(1));

        model.eval();
        var fp32 = Time(() => Infer(model, image), warmup, runs);

        var copy = entry.CreateSegmentation(classes, 3);
        copy.load_state_dict(model.state_dict());
        var options = InferenceOptions.Default;
        using (var converted = InferenceSegmentationModel.Wrap(copy, options.Precision, options.UsesChannelsLast(name)))
        {
            var defaultPath = options.Describe(name);
            var fast = Time(() => Infer(converted, image), warmup, runs);

            model.train();
            using var images = randn(batch, 3, side, side, generator: new Generator(2));
            using var labels = randint(0, classes, [batch, outputSide, outputSide], generator: new Generator(3));
            using var sgd = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9);
            var train = Time(() =>
            {
                using var scope = NewDisposeScope();
                sgd.zero_grad();
                nn.functional.cross_entropy(model.call(images), labels).backward();
                sgd.step();
            }, warmup, runs);
            return new PixelBoxTimings(parameters, side, outputSide, defaultPath, fp32, fast, train);
        }
    }

    static void Infer(SegmentationModel model, Tensor image)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        model.call(image);
    }

    /// <summary>The smallest side from <paramref name="size"/> up that the model takes.</summary>
    static int SideFrom(SegmentationModel model, int size)
    {
        for (var side = size; ; side++)
        {
            try
            {
                model.OutputSize(side);
                return side;
            }
            catch (ArgumentException)
            {
                // not a side this model takes
            }
        }
    }

    static Timing Time(Action action, int warmup, int runs)
    {
        for (var i = 0; i < warmup; i++)
            action();
        var seconds = new double[runs];
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        for (var r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            action();
            seconds[r] = clock.Elapsed.TotalSeconds;
        }
        process.Refresh();
        return new Timing(seconds, (process.TotalProcessorTime - cpuBefore).TotalSeconds / runs);
    }

    /// <summary>Some python3 that imports torch and torchvision, or null (then PixelBox is timed alone).</summary>
    static string? PythonWithTorchvision()
    {
        var python = new[] { "/usr/bin/python3", "python3" }.FirstOrDefault(p => RunProcess(p, ["-c", "import torch, torchvision"], out _) == 0);
        if (python is null)
            Console.WriteLine("python3 with torch and torchvision not found (apt-get install python3-torch python3-torchvision): no PyTorch comparison");
        return python;
    }

    static JsonNode TimePyTorch(string python, string name, int side, int batch, int classes, int warmup, int runs, int threads)
    {
        var script = Path.Combine(RepoRoot(), "bench", "python", "zoo_bench.py");
        string[] arguments = [script, "--model", name, "--side", $"{side}", "--batch", $"{batch}", "--classes", $"{classes}",
            "--warmup", $"{warmup}", "--runs", $"{runs}", "--threads", $"{threads}"];
        if (RunProcess(python, arguments, out var stdout) != 0)
            throw new InvalidOperationException($"{script} failed for {name}:\n{stdout}");
        return JsonNode.Parse(stdout.Split('\n').Last(l => l.StartsWith('{')))!;
    }

    static double[] Seconds(JsonNode node, string key) => [.. node[key]!.AsArray().Select(v => v!.GetValue<double>())];

    static JsonObject Entry(string name, PixelBoxTimings ours, JsonNode? theirs, string? loadBefore)
    {
        double? pyInference = theirs is null ? null : Median(Seconds(theirs, "inference_s"));
        double? pyTrain = theirs is null ? null : Median(Seconds(theirs, "train_step_s"));
        long? pyParameters = theirs?["parameters"]!.GetValue<long>();
        static double? Ratio(double ours, double? theirs) => theirs is { } t ? Math.Round(ours / t, 3) : null;
        static double Ms(double seconds) => Math.Round(seconds * 1e3, 1);
        return new JsonObject
        {
            ["model"] = name,
            ["input_side"] = ours.Side,
            ["output_side"] = ours.OutputSide,
            ["parameters"] = new JsonObject
            {
                ["pixelbox"] = ours.Parameters,
                ["pytorch"] = pyParameters,
                ["equal"] = pyParameters is null ? null : pyParameters == ours.Parameters,
            },
            ["inference_ms"] = new JsonObject
            {
                ["pixelbox_fp32"] = Ms(ours.Fp32.Median),
                ["pixelbox_default"] = Ms(ours.Default.Median),
                ["default_path"] = ours.DefaultPath,
                ["pytorch_fp32"] = pyInference is { } p ? Ms(p) : null,
                ["ratio_fp32"] = Ratio(ours.Fp32.Median, pyInference),
                ["ratio_default"] = Ratio(ours.Default.Median, pyInference),
            },
            ["train_step_s"] = new JsonObject
            {
                ["pixelbox"] = Math.Round(ours.Train.Median, 3),
                ["pytorch"] = pyTrain is { } t ? Math.Round(t, 3) : null,
                ["ratio"] = Ratio(ours.Train.Median, pyTrain),
            },
            ["runs_s"] = new JsonObject
            {
                ["pixelbox_inference_fp32"] = Rounded(ours.Fp32.Seconds),
                ["pixelbox_inference_default"] = Rounded(ours.Default.Seconds),
                ["pixelbox_train_step"] = Rounded(ours.Train.Seconds),
                ["pytorch_inference"] = theirs is null ? null : Rounded(Seconds(theirs, "inference_s")),
                ["pytorch_train_step"] = theirs is null ? null : Rounded(Seconds(theirs, "train_step_s")),
            },
            ["cpu_s_per_run"] = new JsonObject
            {
                ["pixelbox_inference_fp32"] = Math.Round(ours.Fp32.CpuSeconds, 4),
                ["pixelbox_inference_default"] = Math.Round(ours.Default.CpuSeconds, 4),
                ["pixelbox_train_step"] = Math.Round(ours.Train.CpuSeconds, 4),
                ["pytorch_inference"] = theirs?["inference_cpu_s"] is { } pi ? Math.Round(pi.GetValue<double>(), 4) : null,
                ["pytorch_train_step"] = theirs?["train_step_cpu_s"] is { } pt ? Math.Round(pt.GetValue<double>(), 4) : null,
            },
            ["load_average"] = new JsonObject { ["before"] = loadBefore, ["after"] = LoadAverage() },
        };
    }

    static JsonArray Rounded(double[] seconds) => new([.. seconds.Select(s => (JsonNode?)JsonValue.Create(Math.Round(s, 4)))]);

    /// <summary>Every (model, workload) where PixelBox's median is above PyTorch's: fp32 inference, the default path, the training step.</summary>
    static JsonArray SlowerThanPyTorch(JsonArray results)
    {
        var slower = new JsonArray();
        foreach (var r in results)
        {
            foreach (var (group, key) in new[] { ("inference_ms", "ratio_fp32"), ("inference_ms", "ratio_default"), ("train_step_s", "ratio") })
            {
                if (r![group]![key]?.GetValue<double>() is > 1 and var ratio)
                    slower.Add(new JsonObject { ["model"] = r["model"]!.GetValue<string>(), ["workload"] = $"{group}.{key}", ["ratio"] = ratio });
            }
        }
        return slower;
    }

    /// <summary>The README table: one row per model, PixelBox against PyTorch.</summary>
    static string Table(JsonNode report)
    {
        static string Value(JsonNode? v, string format) => v is null ? "-" : v.GetValue<double>().ToString(format, System.Globalization.CultureInfo.InvariantCulture);
        var rows = new System.Text.StringBuilder();
        rows.AppendLine("| model | parameters | input | inference fp32 ms: PixelBox / PyTorch (ratio) | PixelBox default path ms (ratio) | train step s: PixelBox / PyTorch (ratio) |");
        rows.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var r in report["results"]!.AsArray())
        {
            var parameters = r!["parameters"]!;
            var count = parameters["pixelbox"]!.GetValue<long>().ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
            if (parameters["equal"]?.GetValue<bool>() == false)
                count += $" (PyTorch {parameters["pytorch"]!.GetValue<long>():N0})";
            var inference = r["inference_ms"]!;
            var train = r["train_step_s"]!;
            rows.AppendLine($"| `{r["model"]}` | {count} | {r["input_side"]} | " +
                            $"{Value(inference["pixelbox_fp32"], "F0")} / {Value(inference["pytorch_fp32"], "F0")} ({Value(inference["ratio_fp32"], "F2")}) | " +
                            $"{Value(inference["pixelbox_default"], "F0")} {inference["default_path"]} ({Value(inference["ratio_default"], "F2")}) | " +
                            $"{Value(train["pixelbox"], "F2")} / {Value(train["pytorch"], "F2")} ({Value(train["ratio"], "F2")}) |");
        }
        return rows.ToString();
    }
}
