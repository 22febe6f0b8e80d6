using System.Globalization;
using System.Runtime.InteropServices;

namespace PixelBox.Data;

/// <summary>How a converter puts image files into its output.</summary>
public enum ImageTransfer
{
    /// <summary>A hard link when the output is on the input's file system (no bytes copied; both names share the file), else a copy.</summary>
    Link,
    /// <summary>Always a byte copy.</summary>
    Copy,
}

/// <summary>File-level helpers the detection formats share: box checks, image placement, exact number text, the output folder.</summary>
internal static class DatasetFiles
{
    public static IReadOnlyList<string> ImageExtensions => MaskFolderDataset.ImageExtensions;

    public static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Runs body(0..count-1) on all cores; when bodies throw, rethrows the exception of the lowest index as it was
    /// thrown (so the error a user sees does not depend on thread scheduling).
    /// </summary>
    public static void ParallelInOrder(int count, Action<int> body)
    {
        var errors = new Exception?[count];
        Parallel.For(0, count, i =>
        {
            try { body(i); }
            catch (Exception e) { errors[i] = e; }
        });
        foreach (var e in errors)
            if (e is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
    }

    /// <summary>Reports a box that overhangs its image (beyond <see cref="IssueKinds.OutOfBoundsTolerance"/>) or has no area.</summary>
    public static void CheckBox(DetectionObject o, int width, int height, string file, string record, IssueLog log)
    {
        if (!(o.X1 > o.X0) || !(o.Y1 > o.Y0))
        {
            log.Report(IssueKinds.DegenerateBox, file, $"{record}: degenerate box {BoxText(o)} (width {Num(o.X1 - o.X0)}, height {Num(o.Y1 - o.Y0)})");
            return;
        }
        const float tol = IssueKinds.OutOfBoundsTolerance;
        if (width > 0 && height > 0 && (o.X0 < -tol || o.Y0 < -tol || o.X1 > width + tol || o.Y1 > height + tol))
        {
            float x0 = Math.Max(o.X0, 0), y0 = Math.Max(o.Y0, 0), x1 = Math.Min(o.X1, width), y1 = Math.Min(o.Y1, height);
            bool gone = !(x1 > x0) || !(y1 > y0);
            log.Report(gone ? IssueKinds.DegenerateBox : IssueKinds.BoxOutOfBounds, file,
                $"{record}: box {BoxText(o)} is {(gone ? "entirely" : "partly")} outside the {width}x{height} image");
        }
    }

    public static string BoxText(DetectionObject o) => $"[{Num(o.X0)}, {Num(o.Y0)}, {Num(o.X1)}, {Num(o.Y1)}] (x0, y0, x1, y1)";

    static string Num(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    public static double ParseDouble(string text) =>
        double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    public static bool TryParseFinite(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Why box corners must be finite in float32 (the one limit on coordinates), for messages.</summary>
    public const string BeyondFloat = "beyond the range of float32 pixel coordinates (+-3.4e38)";

    public static bool IsFinite(DetectionObject o) =>
        float.IsFinite(o.X0) && float.IsFinite(o.Y0) && float.IsFinite(o.X1) && float.IsFinite(o.Y1);

    /// <summary>
    /// Text from a user's file for a one-line message: quoted, control characters (line breaks) escaped, cut after
    /// 40 characters.
    /// </summary>
    public static string Shown(string text)
    {
        var cut = text.Length <= 40 ? text : char.IsHighSurrogate(text[39]) ? text[..39] : text[..40];
        return "'" + Escaped(cut) + (text.Length > 40 ? "'..." : "'");
    }

    /// <summary>Control characters and Unicode line separators as \uXXXX, so a message stays on one line.</summary>
    public static string Escaped(string text)
    {
        if (!text.Any(NeedsEscape)) return text;
        var sb = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
            sb.Append(NeedsEscape(c) ? $"\\u{(int)c:x4}" : c);
        return sb.ToString();
    }

    static bool NeedsEscape(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    /// <summary>
    /// The first of <paramref name="formats"/> whose text for <paramref name="value"/> makes <paramref name="exact"/>
    /// true when read back; the last format's text otherwise. Writers use it so a float box read back by the
    /// format's own reader is bit for bit the box written, with the shortest text that achieves it.
    /// </summary>
    public static string Shortest(double value, Func<double, bool> exact, params string[] formats)
    {
        string text = "";
        foreach (var format in formats)
        {
            text = Format(value, format);
            if (exact(ParseDouble(text))) return text;
        }
        return text;
    }

    public static string Format(double value, string format)
    {
        var text = value.ToString(format, CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    /// <summary>The shortest text that reads back as this float (as float.Parse would; see callers for double reads).</summary>
    public static string FloatText(float value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    /// <summary>Formats tried from short to exact for coordinates: integers, up to 6 and 9 decimals, then the shortest text that round-trips the double.</summary>
    public static readonly string[] CoordinateFormats = ["0.######", "0.#########", "R"];

    /// <summary>'/'-separated relative path of <paramref name="path"/> under <paramref name="root"/>.</summary>
    public static string Relative(string root, string path) =>
        Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Puts a copy (or a hard link, see <see cref="ImageTransfer"/>) of <paramref name="source"/> at <paramref name="destination"/>.</summary>
    public static void PlaceImage(string source, string destination, ImageTransfer transfer)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        if (File.Exists(destination)) return; // the same image in two splits of a format with one image folder
        if (transfer == ImageTransfer.Link && TryHardLink(source, destination)) return;
        try
        {
            File.Copy(source, destination);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(source, "cannot copy the image: " + e.Message, e);
        }
    }

    static bool TryHardLink(string source, string destination)
    {
        try
        {
            return OperatingSystem.IsWindows() ? CreateHardLinkW(destination, source, IntPtr.Zero) : link(source, destination) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int link(string oldpath, string newpath);

    [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
    static extern bool CreateHardLinkW(string newFileName, string existingFileName, IntPtr securityAttributes);
}

/// <summary>
/// A new output folder assembled in a staging folder beside it and renamed into place when complete, so it
/// never exists half-written. Refuses an output that exists and is not empty, or that is (inside) the input.
/// </summary>
internal sealed class StagedFolder : IDisposable
{
    readonly string target;
    bool published;

    public StagedFolder(string output, string? input = null)
    {
        target = Path.GetFullPath(output).TrimEnd(Path.DirectorySeparatorChar);
        if (input is not null && IsSameOrInside(target, input))
            throw new InputException(output, $"is the input folder or inside it ({input}); write the output somewhere else so the input is never touched");
        if (File.Exists(target))
            throw new InputException(output, "is a file; expected a new or empty folder");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new InputException(output, "already exists and is not empty; choose a new or empty folder");
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        Staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(Staging);
    }

    /// <summary>The staging folder to write into.</summary>
    public string Staging { get; }

    public void Publish()
    {
        if (Directory.Exists(target)) Directory.Delete(target); // empty, checked above
        Directory.Move(Staging, target);
        published = true;
    }

    public void Dispose()
    {
        if (published) return;
        try { Directory.Delete(Staging, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="folder"/> or inside it, after resolving symbolic links of existing parts.</summary>
    public static bool IsSameOrInside(string path, string folder)
    {
        var p = Resolve(path);
        var f = Resolve(folder);
        var comparison = OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        return p.Equals(f, comparison) || p.StartsWith(f + System.IO.Path.DirectorySeparatorChar, comparison);
    }

    /// <summary>The full path with symbolic links resolved component by component (existing components only).</summary>
    static string Resolve(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        var root = System.IO.Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = System.IO.Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            current = (info.Exists ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? next;
        }
        return current.TrimEnd(System.IO.Path.DirectorySeparatorChar);
    }
}
