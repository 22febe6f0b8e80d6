using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>
/// The C# half of Models/Reference/make_reference_outputs.py: fills a model's float state and the
/// input from an integer formula that gives bit-identical float32 values in both languages, and reads
/// the reference outputs the script computed with the shared PyTorch definitions (ref_models.py).
/// Keep <see cref="Value"/> and <see cref="Fill"/> in step with the script's value() and fill().
/// </summary>
public static class ReferenceWeights
{
    const int Period = 9973;

    static readonly Lazy<float[]> PatternValues = new(() =>
    {
        var p = new float[Period];
        for (var j = 0; j < Period; j++)
            p[j] = (float)((((ulong)j * 2654435761UL + 12345UL) % (1UL << 32)) / 4294967296.0 - 0.5);
        return p;
    });

    public static string Folder => FindFolder();

    static uint Fnv1a(string name)
    {
        var h = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(name))
            h = unchecked((h ^ b) * 16777619u);
        return h;
    }

    static Tensor Base(string name, long[] shape)
    {
        var p = PatternValues.Value;
        var offset = (int)(Fnv1a(name) % Period);
        var n = shape.Aggregate(1L, (a, b) => a * b);
        using var rolled = tensor(p[offset..].Concat(p[..offset]).ToArray());
        using var repeated = rolled.repeat((n + Period - 1) / Period);
        return repeated[..(int)n].reshape(shape).contiguous();
    }

    /// <summary>kind: "conv" (He variance 2/fan), "scale" (1 +- 0.25), "input" (+-1), "shift" (+-0.1).</summary>
    public static Tensor Value(string name, long[] shape, string kind, long fan = 0)
    {
        using var b = Base(name, shape);
        float factor = kind switch
        {
            "conv" => (float)Math.Sqrt(24.0 / fan),
            "scale" => 0.5f,
            "input" => 2f,
            _ => 0.2f,
        };
        using var f = tensor(factor);
        var scaled = b.mul(f);
        if (kind != "scale")
            return scaled;
        // An explicit alpha held alive: Tensor.add's implicit Scalar can be finalized mid-call under GC pressure.
        using (scaled)
        using (var one = tensor(1f))
        using (var alpha = 1f.ToScalar())
            return one.add(scaled, alpha);
    }

    /// <summary>Overwrites every float tensor of the model's state with the formula; returns names and shapes.</summary>
    public static List<(string Name, long[] Shape)> Fill(nn.Module model)
    {
        var kinds = new Dictionary<string, (string Kind, long Fan)>();
        foreach (var (name, module) in model.named_modules())
        {
            switch (module)
            {
                case ConvTranspose2d t:
                    kinds[name + ".weight"] = ("conv", t.in_channels * (t.kernel_size[0] / t.stride[0]) * (t.kernel_size[0] / t.stride[0]));
                    break;
                case Conv2d c:
                    kinds[name + ".weight"] = ("conv", c.in_channels * c.kernel_size[0] * c.kernel_size[1]);
                    break;
                case BatchNorm2d:
                    kinds[name + ".weight"] = ("scale", 0);
                    kinds[name + ".running_var"] = ("scale", 0);
                    break;
            }
        }
        var listing = new List<(string, long[])>();
        using var noGrad = no_grad();
        foreach (var (name, t) in model.state_dict())
        {
            if (!t.is_floating_point())
                continue;
            var (kind, fan) = kinds.GetValueOrDefault(name, ("shift", 0L));
            using var v = Value(name, t.shape, kind, fan);
            t.copy_(v);
            listing.Add((name, t.shape));
        }
        return listing;
    }

    public sealed record Case(long[] InputShape, long[] OutputShape, List<(string Name, long[] Shape)> State, Tensor Output);

    public static Case Load(string name)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".json")));
        var root = json.RootElement;
        static long[] Shape(JsonElement e) => [.. e.EnumerateArray().Select(v => v.GetInt64())];
        var state = root.GetProperty("state").EnumerateArray()
            .Select(e => (e[0].GetString()!, Shape(e[1]))).ToList();
        var output = Safetensors.LoadStateDict(Path.Combine(Folder, name + ".safetensors"))["output"];
        return new Case(Shape(root.GetProperty("input_shape")), Shape(root.GetProperty("output_shape")), state, output);
    }

    static string FindFolder()
    {
        var relative = Path.Combine("tests", "PixelBox.Tests", "Models", "Reference");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }
}
