using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace PixelBox.Bench;

/// <summary>What the Stopwatch benchmark modes share: option parsing, where results go, machine facts.</summary>
static class BenchSupport
{
    /// <summary>The repository root (the folder with PixelBox.sln above the binary), else the current folder.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PixelBox.sln")))
                return dir.FullName;
        return Directory.GetCurrentDirectory();
    }

    public static int IntOption(string[] args, string name, int fallback) =>
        StringOption(args, name) is { } v ? int.Parse(v) : fallback;

    /// <summary>The value after <paramref name="name"/>, or null.</summary>
    public static string? StringOption(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The middle value (the mean of the two middle ones for an even count).</summary>
    public static double Median(double[] values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>/proc/loadavg, recorded with every result so a disturbed run shows.</summary>
    public static string? LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null;

    /// <summary>Runs a program to its end; its exit code (-1 when it cannot start) and its stdout followed by its stderr.</summary>
    public static int RunProcess(string file, string[] arguments, out string stdout)
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

    /// <summary>CPU, cores, OS, torch threads and load average, recorded with every result.</summary>
    public static JsonObject Machine(int threads)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim()
            : null;
        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["os"] = RuntimeInformation.OSDescription,
            ["cpu"] = cpu ?? RuntimeInformation.ProcessArchitecture.ToString(),
            ["torch_threads"] = threads,
            ["load_average"] = LoadAverage(),
        };
    }
}
