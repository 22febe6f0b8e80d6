namespace PixelBox;

/// <summary>
/// The files a command reads and the files it will write, checked before any work: an output may not be an
/// input (a mask written over the image it came from) nor the same file as another output (b.png's overlay
/// and the mask of an input called b_overlay.png). Paths are compared as the file system does: existing
/// files by identity (device and inode, so links, hard links and case-insensitive file systems count), new
/// files by full path, ignoring case where the folder's file system ignores it.
/// </summary>
public sealed class OutputPlan
{
    readonly List<(string Path, string Role)> inputs = [];
    readonly List<(string Path, string Role)> outputs = [];

    /// <summary>A file the command reads; <paramref name="role"/> says which (e.g. "--gt", "the input image").</summary>
    public OutputPlan Input(string path, string role)
    {
        inputs.Add((path, role));
        return this;
    }

    /// <summary>A file the command will write; <paramref name="role"/> says which (e.g. "--json", "the mask of a.png").</summary>
    public OutputPlan Output(string path, string role)
    {
        outputs.Add((path, role));
        return this;
    }

    /// <summary>Throws an <see cref="InputException"/> naming both files for the first output that is an input or another output.</summary>
    public void Check()
    {
        var inputIds = new Dictionary<(long, long), (string Path, string Role)>();
        var inputPaths = new Dictionary<string, (string Path, string Role)>(PathComparer.Instance);
        foreach (var input in inputs)
        {
            if (FileKinds.Identity(input.Path) is { } id)
                inputIds.TryAdd(id, input);
            inputPaths.TryAdd(Path.GetFullPath(input.Path), input);
        }
        var outputIds = new Dictionary<(long, long), (string Path, string Role)>();
        var outputPaths = new Dictionary<string, (string Path, string Role)>(PathComparer.Instance);
        foreach (var output in outputs)
        {
            var full = Path.GetFullPath(output.Path);
            var id = FileKinds.Identity(full);
            if ((id is { } i && inputIds.TryGetValue(i, out var input)) || inputPaths.TryGetValue(full, out input))
                throw new InputException(output.Path, $"{output.Role} would overwrite {input.Role} {input.Path}; choose another output");
            if ((id is { } j && outputIds.TryGetValue(j, out var other)) || outputPaths.TryGetValue(full, out other))
                throw new InputException(output.Path, $"would be written twice, as {other.Role} ({other.Path}) and as {output.Role}");
            if (id is { } k)
                outputIds.Add(k, output);
            outputPaths.TryAdd(full, output);
        }
    }

    /// <summary>Whether <paramref name="inner"/> is <paramref name="folder"/> or lies under it (full paths, the file system's case rule).</summary>
    public static bool IsWithin(string inner, string folder)
    {
        var (a, b) = (Path.TrimEndingDirectorySeparator(Path.GetFullPath(inner)), Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        if (FileKinds.Identity(a) is { } ia && FileKinds.Identity(b) is { } ib && ia == ib)
            return true;
        var comparison = CaseRule.IgnoresCase(b) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return a.Equals(b, comparison) || a.StartsWith(b + Path.DirectorySeparatorChar, comparison);
    }

    /// <summary>Full paths equal as the file system of their folder compares names.</summary>
    sealed class PathComparer : IEqualityComparer<string>
    {
        public static readonly PathComparer Instance = new();

        public bool Equals(string? x, string? y) =>
            x is not null && y is not null &&
            string.Equals(x, y, CaseRule.IgnoresCase(Path.GetDirectoryName(x) ?? x) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        // Hash case-folded so that paths equal under either rule land in the same bucket.
        public int GetHashCode(string path) => StringComparer.OrdinalIgnoreCase.GetHashCode(path);
    }
}

/// <summary>Whether a folder's file system ignores the case of names (Windows and macOS by default, FAT and
/// case-folding folders on Linux), found by looking up the nearest existing folder under a case-swapped name.</summary>
static class CaseRule
{
    static readonly Dictionary<string, bool> Known = [];

    public static bool IgnoresCase(string folder)
    {
        if (OperatingSystem.IsWindows())
            return true;
        for (var dir = Path.GetFullPath(folder); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            var id = FileKinds.Identity(dir);
            if (id is null)
                continue; // not created yet: its nearest existing ancestor decides
            lock (Known)
                if (Known.TryGetValue(dir, out var known))
                    return known;
            bool? answer = Probe(dir, id.Value);
            if (answer is null)
                continue; // no letters in this name: ask the parent
            lock (Known)
                Known[dir] = answer.Value;
            return answer.Value;
        }
        return OperatingSystem.IsMacOS();
    }

    static bool? Probe(string dir, (long, long) id)
    {
        var name = Path.GetFileName(dir);
        var swapped = new string(name.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray());
        if (swapped == name)
            return null;
        return FileKinds.Identity(Path.Combine(Path.GetDirectoryName(dir)!, swapped)) == id;
    }
}
