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

    /// <summary>/proc/loadavg, recorded with every result so a disturbed run shows.</summary>
    public static string? LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null;
}
