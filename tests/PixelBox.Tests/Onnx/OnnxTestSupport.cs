using System.Diagnostics;
using PixelBox.Onnx;
using PixelBox.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Onnx;

/// <summary>Debian's ONNX checker (python3-onnx, the reference implementation of the spec) run on exported files.</summary>
public static class OnnxChecker
{
    const string Python = "/usr/bin/python3";

    /// <summary>Why checker tests cannot run here, or null when they can.</summary>
    public static readonly string? Missing = Probe();

    /// <summary>onnx.checker.check_model(full_check=True) on each file (one Python process): per file, null when
    /// it passes, else the checker's message.</summary>
    public static string?[] Check(params string[] paths)
    {
        const string script = """
            import json, sys, onnx
            results = []
            for path in sys.argv[1:]:
                try:
                    onnx.checker.check_model(onnx.load(path), full_check=True)
                    results.append(None)
                except Exception as e:
                    results.append(f"{type(e).__name__}: {e}")
            print(json.dumps(results))
            """;
        var (code, stdout, err) = Run(script, paths);
        if (code != 0)
            throw new InvalidOperationException($"the ONNX checker script failed: {err}");
        return System.Text.Json.JsonSerializer.Deserialize<string?[]>(stdout)!;
    }

    static string? Probe()
    {
        if (!File.Exists(Python))
            return $"{Python} not found (Debian's python3-onnx runs the ONNX checker; CI installs it)";
        try
        {
            var (code, _, _) = Run("import onnx");
            return code == 0 ? null : "Debian's python3-onnx is not installed (apt-get install python3-onnx; CI installs it)";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{Python} cannot run ({e.Message})";
        }
    }

    static (int Code, string Out, string Err) Run(string script, params string[] args)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }
}

/// <summary>A fact that needs Debian's python3-onnx; skipped with the reason when it is absent.</summary>
public sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public OnnxCheckerFactAttribute()
    {
        if (OnnxChecker.Missing is { } reason)
            Skip = reason;
    }
}

/// <summary>Exports a module to a temporary ONNX file.</summary>
public static class OnnxTestExport
{
    public static string Write(nn.Module model, int inChannels, IReadOnlyList<string> outputs, OnnxExportOptions options, string? dir = null)
    {
        var proto = OnnxExport.Build(model, model.GetName(), inChannels, outputs, options);
        var path = Path.Combine(dir ?? TinyTask.TempDir(), model.GetName() + (options.DynamicSize ? "-dynamic" : "") + ".onnx");
        OnnxExport.Write(proto, path);
        return path;
    }
}
