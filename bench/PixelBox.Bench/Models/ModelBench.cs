using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static PixelBox.Bench.BenchSupport;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// Model timings (`dotnet run -c Release --project bench/PixelBox.Bench -- models [--runs 7] [--warmup 3]
/// [--threads 2] [--no-python] [--out FILE]`): the benchmark U-Net (same padding, widths 32..512, no BN,
/// 5 classes) training step (SGD momentum + cross-entropy) on 4x3x256x256 and inference on 1x3x512x512,
/// each as <c>UNet.Same32</c> and as <see cref="BareUNet"/> in the same run, runs interleaved so drift hits
/// both alike; FCN-8s inference on 1x3x384x384. With python3-torch installed, the same networks from
/// ref_models.py run under PyTorch (bench/python/models_bench.py) for a ratio. Writes bench/results/models.json.
/// </summary>
public static class ModelBench
{
    sealed record Timing(string Name, string Description, double[] Seconds, double Gflop)
    {
        public double Median => BenchSupport.Median(Seconds);
    }

    public static void Run(string[] args)
    {
        var runs = IntOption(args, "--runs", 7);
        var warmup = IntOption(args, "--warmup", 3);
        var threads = IntOption(args, "--threads", 2);
        var output = StringOption(args, "--out") ?? Path.Combine(RepoRoot(), "bench", "results", "models.json");
        set_num_threads(threads);
        var machine = Machine(threads);
        Console.WriteLine($"{machine["cpu"]}, {machine["cores"]} cores, {threads} torch threads; warm-up {warmup}, {runs} timed runs each");

        var timings = new List<Timing>();
        timings.AddRange(UNetTrainStep(warmup, runs));
        timings.AddRange(UNetInference(warmup, runs));
        timings.Add(Fcn8sInference(warmup, runs));

        var python = args.Contains("--no-python") ? null : PythonTimings(warmup, runs, threads);

        var results = new JsonArray();
        foreach (var t in timings)
            results.Add(Entry(t, machine));
        var report = new JsonObject
        {
            ["benchmark"] = "models",
            ["machine"] = machine.DeepClone(),
            ["torchsharp"] = typeof(torch).Assembly.GetName().Version?.ToString(),
            ["results"] = results,
            ["overhead_vs_bare_torchsharp"] = new JsonObject
            {
                ["unet_train_step"] = Overhead(timings, "unet_train_step"),
                ["unet_inference"] = Overhead(timings, "unet_inference"),
                ["target"] = "at most 0.05",
            },
        };
        if (python != null)
        {
            var ratios = new JsonObject();
            var pyResults = new JsonArray();
            foreach (var py in python)
            {
                var ours = timings.First(o => o.Name == py.Name.Replace("_pytorch", "_pixelbox"));
                pyResults.Add(Entry(py with { Gflop = ours.Gflop }, machine)); // same network, same FLOPs
                ratios[py.Name.Replace("_pytorch", "")] = Math.Round(py.Median / ours.Median, 3);
            }
            report["pytorch"] = pyResults;
            report["pytorch_median_over_pixelbox_median"] = ratios;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
        var temp = output + ".tmp";
        File.WriteAllText(temp, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        File.Move(temp, output, overwrite: true);
        Console.WriteLine($"wrote {output}");
    }

    static IEnumerable<Timing> UNetTrainStep(int warmup, int runs)
    {
        using var ours = UNet.Same32(numClasses: 5, inChannels: 3);
        using var bare = new BareUNet(inChannels: 3, numClasses: 5);
        CheckSameSize(ours, bare);
        using var x = randn(4, 3, 256, 256, generator: new Generator(1));
        using var y = randint(0, 5, [4, 256, 256], generator: new Generator(2));
        var gflop = 3 * FlopCounter.ForwardFlops(ours, [4, 3, 256, 256]) / 1e9;
        var steps = new[] { ours, (nn.Module<Tensor, Tensor>)bare }.Select(model =>
        {
            model.train();
            var sgd = optim.SGD(model.parameters(), learningRate: 1e-3, momentum: 0.9);
            return (Action)(() =>
            {
                using var scope = NewDisposeScope();
                sgd.zero_grad();
                var loss = nn.functional.cross_entropy(model.call(x), y);
                loss.backward();
                sgd.step();
            });
        }).ToArray();
        var seconds = TimeInterleaved(steps, warmup, runs, "unet train step");
        const string what = "U-Net same-padded 32..512, no BN, 5 classes: SGD momentum + cross-entropy step on 4x3x256x256";
        yield return new Timing("unet_train_step_pixelbox", what + " (PixelBox UNet.Same32)", seconds[0], gflop);
        yield return new Timing("unet_train_step_bare", what + " (bare TorchSharp module)", seconds[1], gflop);
    }

    static IEnumerable<Timing> UNetInference(int warmup, int runs)
    {
        using var ours = UNet.Same32(numClasses: 5, inChannels: 3);
        using var bare = new BareUNet(inChannels: 3, numClasses: 5);
        using var x = randn(1, 3, 512, 512, generator: new Generator(3));
        var gflop = FlopCounter.ForwardFlops(ours, [1, 3, 512, 512]) / 1e9;
        var steps = new[] { ours, (nn.Module<Tensor, Tensor>)bare }.Select(model => Inference(model, x)).ToArray();
        var seconds = TimeInterleaved(steps, warmup, runs, "unet inference");
        const string what = "U-Net same-padded 32..512, no BN, 5 classes: inference (eval, no_grad) on 1x3x512x512";
        yield return new Timing("unet_inference_pixelbox", what + " (PixelBox UNet.Same32)", seconds[0], gflop);
        yield return new Timing("unet_inference_bare", what + " (bare TorchSharp module)", seconds[1], gflop);
    }

    static Timing Fcn8sInference(int warmup, int runs)
    {
        using var model = Fcn.Fcn8s(numClasses: 21);
        using var x = randn(1, 3, 384, 384, generator: new Generator(4));
        var gflop = FlopCounter.ForwardFlops(model, [1, 3, 384, 384]) / 1e9;
        var seconds = TimeInterleaved([Inference(model, x)], warmup, runs, "fcn8s inference");
        return new Timing("fcn8s_inference_pixelbox", "FCN-8s VGG16, 21 classes: inference (eval, no_grad) on 1x3x384x384", seconds[0], gflop);
    }

    static Action Inference(nn.Module<Tensor, Tensor> model, Tensor x)
    {
        model.eval();
        return () =>
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.call(x);
        };
    }

    /// <summary>Warm-up rounds, then timed rounds that run every step once each, in turn.</summary>
    static double[][] TimeInterleaved(Action[] steps, int warmup, int runs, string label)
    {
        for (var i = 0; i < warmup; i++)
            foreach (var step in steps)
                step();
        var seconds = steps.Select(_ => new double[runs]).ToArray();
        for (var r = 0; r < runs; r++)
        {
            for (var s = 0; s < steps.Length; s++)
            {
                var clock = Stopwatch.StartNew();
                steps[s]();
                seconds[s][r] = clock.Elapsed.TotalSeconds;
            }
            Console.WriteLine($"  {label} run {r + 1}/{runs}: {string.Join(" / ", seconds.Select(t => $"{t[r]:F3} s"))}");
        }
        return seconds;
    }

    static void CheckSameSize(nn.Module a, nn.Module b)
    {
        long Count(nn.Module m) => m.parameters().Sum(p => p.numel());
        if (Count(a) != 7_760_229 || Count(b) != 7_760_229)
            throw new InvalidOperationException($"benchmark U-Nets must have 7,760,229 parameters: {Count(a)} and {Count(b)}");
    }

    static JsonNode? Overhead(List<Timing> timings, string prefix)
    {
        var ours = timings.First(t => t.Name == prefix + "_pixelbox").Median;
        var bare = timings.First(t => t.Name == prefix + "_bare").Median;
        return Math.Round(ours / bare - 1, 4);
    }

    static JsonObject Entry(Timing t, JsonObject machine) => new()
    {
        ["name"] = t.Name,
        ["description"] = t.Description,
        ["median_s"] = Math.Round(t.Median, 4),
        ["min_s"] = Math.Round(t.Seconds.Min(), 4),
        ["max_s"] = Math.Round(t.Seconds.Max(), 4),
        ["runs"] = t.Seconds.Length,
        ["gflop"] = Math.Round(t.Gflop, 2),
        ["gflops_per_s"] = Math.Round(t.Gflop / t.Median, 1),
        ["machine"] = machine.DeepClone(),
    };

    /// <summary>Runs bench/python/models_bench.py when some python3 can import torch; null otherwise.</summary>
    static List<Timing>? PythonTimings(int warmup, int runs, int threads)
    {
        var script = Path.Combine(RepoRoot(), "bench", "python", "models_bench.py");
        var python = new[] { "python3", "/usr/bin/python3" }.FirstOrDefault(p => RunProcess(p, ["-c", "import torch"], out _) == 0);
        if (python == null)
        {
            Console.WriteLine("python3 with torch not found (apt-get install python3-torch): no PyTorch comparison");
            return null;
        }
        Console.WriteLine($"PyTorch comparison with {python} {script}");
        if (RunProcess(python, [script, "--warmup", $"{warmup}", "--runs", $"{runs}", "--threads", $"{threads}"], out var stdout) != 0)
            throw new InvalidOperationException($"{script} failed:\n{stdout}");
        var timings = new List<Timing>();
        foreach (var line in stdout.Split('\n').Where(l => l.StartsWith('{')))
        {
            var e = JsonNode.Parse(line)!;
            var seconds = e["seconds"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
            timings.Add(new Timing(e["name"]!.GetValue<string>(), e["description"]!.GetValue<string>(), seconds, 0));
            Console.WriteLine($"  {e["name"]}: median {timings[^1].Median:F3} s");
        }
        return timings;
    }
}
