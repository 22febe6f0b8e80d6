using System.Diagnostics;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>
/// Debian's python3-torch / python3-torchvision (/usr/bin/python3; PIXELBOX_PYTHON overrides), which the
/// parity tests run to produce reference outputs; <see cref="SkipReason"/> says why they cannot run.
/// </summary>
public static class PythonTorch
{
    static readonly Lazy<string?> Reason = new(Probe);

    public static string Interpreter =>
        Environment.GetEnvironmentVariable("PIXELBOX_PYTHON") is { Length: > 0 } custom ? custom : "/usr/bin/python3";

    /// <summary>Null when the interpreter imports torch and torchvision; else why not, and how to fix it.</summary>
    public static string? SkipReason => Reason.Value;

    static string? Probe()
    {
        const string install = "install Debian's python3-torch and python3-torchvision (apt-get install python3-torch python3-torchvision) or set PIXELBOX_PYTHON";
        if (!File.Exists(Interpreter))
            return $"{Interpreter} not found: {install}";
        var (code, _, error) = Run(["-c", "import torch, torchvision"], TimeSpan.FromMinutes(2));
        return code == 0 ? null : $"{Interpreter} cannot import torch/torchvision ({error.Trim().Split('\n').LastOrDefault()}): {install}";
    }

    /// <summary>Runs the interpreter; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Output, string Error) Run(IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        start.Environment["OMP_NUM_THREADS"] = "2";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {Interpreter}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Interpreter} {string.Join(' ', arguments)} ran longer than {timeout}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }
}

/// <summary>A [Fact] skipped, with the reason, when Python torch is not installed.</summary>
public sealed class PythonTorchFactAttribute : FactAttribute
{
    public PythonTorchFactAttribute()
    {
        if (PythonTorch.SkipReason is { } reason)
            Skip = reason;
    }
}

/// <summary>A [Theory] skipped, with the reason, when Python torch is not installed.</summary>
public sealed class PythonTorchTheoryAttribute : TheoryAttribute
{
    public PythonTorchTheoryAttribute()
    {
        if (PythonTorch.SkipReason is { } reason)
            Skip = reason;
    }
}

/// <summary>
/// Reference files made once per test class by Models/Reference/make_zoo_references.py in a temporary
/// folder (removed afterwards; never committed): for a model case CASE.pth, CASE.safetensors (random
/// weights, calibrated BatchNorm) and CASE_io.safetensors (input and PyTorch's logits). Nothing is made
/// when Python torch is absent (the tests using it are skipped then).
/// </summary>
public abstract class PythonReferences : IDisposable
{
    readonly DirectoryInfo? folder;

    protected PythonReferences(params string[] cases) : this([], cases) { }

    /// <param name="options">Extra options of the script, e.g. "--image-input".</param>
    /// <param name="cases">Model cases to make.</param>
    protected PythonReferences(IReadOnlyList<string> options, params string[] cases)
    {
        if (PythonTorch.SkipReason != null)
            return;
        folder = Directory.CreateTempSubdirectory("pixelbox-zoo-");
        var script = Path.Combine(ReferenceWeights.Folder, "make_zoo_references.py");
        var (code, output, error) = PythonTorch.Run(
            [script, "--out", folder.FullName, "--shared", SharedFiles.Root, "--cases", string.Join(",", cases), .. options], TimeSpan.FromMinutes(15));
        if (code != 0)
        {
            Dispose();
            throw new InvalidOperationException($"{script} failed (exit {code}):\n{error}\n{output}");
        }
        Log = output;
    }

    /// <summary>What the script printed (one JSON line per case).</summary>
    public string Log { get; } = "";

    public string PathOf(string file) =>
        Path.Combine(folder?.FullName ?? throw new InvalidOperationException("no references: Python torch is absent"), file);

    /// <summary>The input and PyTorch's outputs ("input", "out", optionally "aux") of a model case.</summary>
    public Dictionary<string, Tensor> InputOutput(string caseName) => Safetensors.LoadStateDict(PathOf(caseName + "_io.safetensors"));

    /// <summary>Frees a case's files once its test is done (they are hundreds of MB).</summary>
    public void Release(string caseName)
    {
        foreach (var suffix in new[] { ".pth", ".safetensors", "_io.safetensors", ".json" })
            File.Delete(PathOf(caseName + suffix));
    }

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (folder is { Exists: true })
            folder.Delete(recursive: true);
    }
}
