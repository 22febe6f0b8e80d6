using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Boxes;

/// <summary>
/// Reference values from Python torch/torchvision (Debian python3-torchvision 0.14), made once per test run by
/// Reference/make_box_references.py into a temporary folder (5 MB, not committed).
/// </summary>
public static class BoxReference
{
    public const string Python = "/usr/bin/python3";

    /// <summary>Null when /usr/bin/python3 can import torchvision, else why not.</summary>
    public static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!File.Exists(Python))
            return $"{Python} not found (apt-get install python3-torchvision)";
        var (code, output) = Run(["-c", "import torch, torchvision"]);
        return code == 0 ? null : $"{Python} cannot import torch/torchvision (apt-get install python3-torchvision): {output.Trim().Split('\n')[^1]}";
    });

    static readonly Lazy<JsonElement> Document = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("pixelbox-box-ref-");
        try
        {
            var output = Path.Combine(dir.FullName, "box_references.json");
            var (code, text) = Run([ScriptPath, output]);
            if (code != 0)
                throw new InvalidOperationException($"make_box_references.py failed ({code}):\n{text}");
            return JsonDocument.Parse(File.ReadAllBytes(output)).RootElement.Clone();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    });

    public static JsonElement Root => Document.Value;

    public static JsonElement Section(string name) => Root.GetProperty(name);

    static string ScriptPath => ReferenceFile("make_box_references.py");

    /// <summary>A file of tests/PixelBox.Tests/Boxes/Reference in the source tree above the test binaries.</summary>
    public static string ReferenceFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "PixelBox.Tests", "Boxes", "Reference", name);
            if (File.Exists(candidate))
                return candidate;
        }
        throw new FileNotFoundException($"tests/PixelBox.Tests/Boxes/Reference/{name} not found above {AppContext.BaseDirectory}");
    }

    static (int Code, string Output) Run(string[] arguments)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    // ------------------------------------------------------------------------------- JSON helpers

    public static float Float(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => float.NaN,
            "Infinity" => float.PositiveInfinity,
            "-Infinity" => float.NegativeInfinity,
            var s => throw new InvalidDataException($"not a number: {s}"),
        }
        : e.GetSingle();

    /// <summary>Every number of a (nested) array, flattened.</summary>
    public static float[] Floats(JsonElement e)
    {
        var values = new List<float>();
        void Collect(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array)
                foreach (var c in x.EnumerateArray()) Collect(c);
            else
                values.Add(Float(x));
        }
        Collect(e);
        return values.ToArray();
    }

    public static long[] Longs(JsonElement e)
    {
        var values = new List<long>();
        void Collect(JsonElement x)
        {
            if (x.ValueKind == JsonValueKind.Array)
                foreach (var c in x.EnumerateArray()) Collect(c);
            else if (x.ValueKind is JsonValueKind.True or JsonValueKind.False)
                values.Add(x.GetBoolean() ? 1 : 0);
            else
                values.Add(x.GetInt64());
        }
        Collect(e);
        return values.ToArray();
    }

    public static int[] Ints(JsonElement e) => Longs(e).Select(v => (int)v).ToArray();

    public static long[] Shape(JsonElement e)
    {
        var shape = new List<long>();
        for (var x = e; x.ValueKind == JsonValueKind.Array; x = x.GetArrayLength() > 0 ? x[0] : default)
        {
            shape.Add(x.GetArrayLength());
            if (x.GetArrayLength() == 0)
                break;
        }
        return shape.ToArray();
    }

    /// <summary>A float32 tensor of a (nested) JSON array.</summary>
    public static Tensor FloatTensor(JsonElement e) => tensor(Floats(e), Shape(e));

    public static float[] Values(Tensor t) => t.detach().to_type(ScalarType.Float32).contiguous().data<float>().ToArray();

    /// <summary>Asserts equal shapes and |got - want| &lt;= atol + rtol |want| (NaN only where NaN is wanted).</summary>
    public static void AssertClose(float[] want, float[] got, string what, double rtol = 1e-5, double atol = 1e-6)
    {
        Assert.True(want.Length == got.Length, $"{what}: {got.Length} values, want {want.Length}");
        for (int i = 0; i < want.Length; i++)
        {
            if (float.IsNaN(want[i]) || float.IsInfinity(want[i]))
            {
                Assert.True(want[i].Equals(got[i]), $"{what}[{i}]: got {got[i]:R}, want {want[i]:R}");
                continue;
            }
            Assert.True(Math.Abs(got[i] - want[i]) <= atol + rtol * Math.Abs(want[i]), $"{what}[{i}]: got {got[i]:R}, want {want[i]:R}");
        }
    }
}

/// <summary>A fact that needs Python torch/torchvision; skipped, with the reason, where they are missing.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (BoxReference.Unavailable.Value is { } reason)
            Skip = reason;
    }
}

/// <summary>A theory that needs Python torch/torchvision.</summary>
public sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    public PythonTorchTheoryAttribute()
    {
        if (BoxReference.Unavailable.Value is { } reason)
            Skip = reason;
    }
}
