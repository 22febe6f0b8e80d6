using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PixelBox.Data;

/// <summary>Counts of one split. <see cref="Objects"/> is null for formats without objects (segmentation masks); <see cref="Sizes"/> is given by segmentation checks.</summary>
public sealed record SplitCount(string Name, int Images, int? Objects, int EmptyImages)
{
    public ImageSizeStats? Sizes { get; init; }
}

/// <summary>One class of the histogram: objects (detection) or pixels (segmentation) per class, as <see cref="DataCheckReport.ClassUnit"/> says.</summary>
public sealed record ClassCount(int Index, string Name, long? CategoryId, long Count);

/// <summary>All issues of one kind: how many, and the first few as examples.</summary>
public sealed record ProblemSummary(string Kind, IssueSeverity Severity, int Count, IReadOnlyList<string> Examples);

/// <summary>
/// What <c>pixelbox data check</c> found in a dataset, whatever its format: counts, class histogram and the
/// problems by kind. The data is usable when no problem is an error (see <see cref="IssueKinds"/>).
/// </summary>
public sealed class DataCheckReport
{
    public const int ExamplesPerKind = 5;

    public required string Format { get; init; }
    /// <summary>"segmentation" for a segmentation check (shown beside the format); null for detection, whose report predates it.</summary>
    public string? Task { get; init; }
    public required string Root { get; init; }
    public required IReadOnlyList<SplitCount> Splits { get; init; }
    /// <summary>Distinct image files over all splits.</summary>
    public required int Images { get; init; }
    /// <summary>Objects over distinct images; null when the format has none.</summary>
    public int? Objects { get; init; }
    /// <summary>"objects" or "pixels": what <see cref="Classes"/> counts.</summary>
    public required string ClassUnit { get; init; }
    public required IReadOnlyList<ClassCount> Classes { get; init; }
    public required IReadOnlyList<ProblemSummary> Problems { get; init; }
    /// <summary>Whether pixels were decoded (broken files found) or only headers read.</summary>
    public bool DecodedImages { get; init; }

    public int Errors => Problems.Where(p => p.Severity == IssueSeverity.Error).Sum(p => p.Count);
    public int Warnings => Problems.Where(p => p.Severity == IssueSeverity.Warning).Sum(p => p.Count);
    public bool Usable => Errors == 0;

    public static IReadOnlyList<ProblemSummary> Summarize(IEnumerable<DataIssue> issues) =>
        issues.GroupBy(i => i.Kind)
            .Select(g => new ProblemSummary(g.Key, g.First().Severity, g.Count(),
                g.Select(i => i.ToString()).Order(StringComparer.Ordinal).Take(ExamplesPerKind).ToArray()))
            .OrderByDescending(p => p.Severity).ThenBy(p => p.Kind, StringComparer.Ordinal).ToArray();

    /// <summary>The terminal view: counts, per-split table, class histogram, problems with examples, verdict.</summary>
    public string FormatText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append(inv, $"{Format}{(Task is null ? "" : " " + Task)} dataset at {Root}\n");
        sb.Append(inv, $"{Images} images{(Objects is int o ? $", {o} objects" : "")}{(DecodedImages ? " (every image decoded)" : " (image headers read, pixels not decoded)")}\n\n");
        var splitRows = Splits.Select(s => new[] { s.Name, s.Images.ToString(inv), s.Objects?.ToString(inv) ?? "-", s.EmptyImages.ToString(inv) }).ToList();
        if (Splits.Any(s => s.Sizes is not null))
        {
            static string Size((int W, int H) s) => $"{s.W}x{s.H}";
            for (int i = 0; i < Splits.Count; i++)
                splitRows[i] = Splits[i].Sizes is { } z
                    ? [.. splitRows[i], Size(z.Min), Size(z.Max), $"{Size(z.MostCommon)} ({z.MostCommonCount})"]
                    : [.. splitRows[i], "-", "-", "-"];
            Table(sb, ["split", "images", "objects", "empty images", "min size", "max size", "most common size"], splitRows, rightFrom: 1, rightTo: 3);
        }
        else
            Table(sb, ["split", "images", "objects", "empty images"], splitRows, rightFrom: 1);
        sb.Append('\n');
        long total = Math.Max(1, Classes.Sum(c => c.Count));
        var classRows = Classes.Select(c => new[]
        {
            c.Index.ToString(inv), c.Name, c.CategoryId?.ToString(inv) ?? "-", c.Count.ToString(inv),
            (100.0 * c.Count / total).ToString("0.0", inv) + "%", new string('#', (int)Math.Round(30.0 * c.Count / total)),
        }).ToList();
        Table(sb, ["class", "name", "id", ClassUnit, "share", ""], classRows, rightFrom: 2, rightTo: 4);
        sb.Append('\n');
        if (Problems.Count == 0) sb.Append("no problems found\n");
        foreach (var p in Problems)
        {
            sb.Append(inv, $"{(p.Severity == IssueSeverity.Error ? "error" : "warning")}: {p.Kind}: {p.Count}\n");
            foreach (var e in p.Examples) sb.Append("    ").Append(e).Append('\n');
            if (p.Count > p.Examples.Count) sb.Append(inv, $"    ... and {p.Count - p.Examples.Count} more\n");
        }
        sb.Append('\n').Append(Usable
            ? $"usable: no errors, {Warnings} warning(s)\n"
            : $"NOT usable: {Errors} error(s), {Warnings} warning(s)\n");
        return sb.ToString();
    }

    static void Table(StringBuilder sb, string[] header, List<string[]> rows, int rightFrom, int rightTo = int.MaxValue)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Row(string[] cells)
        {
            var line = new StringBuilder();
            for (int i = 0; i < cells.Length; i++)
            {
                if (i > 0) line.Append("  ");
                line.Append(i >= rightFrom && i <= rightTo ? cells[i].PadLeft(widths[i]) : cells[i].PadRight(widths[i]));
            }
            sb.Append(line.ToString().TrimEnd()).Append('\n');
        }
        Row(header);
        Row(widths.Select(w => new string('-', w)).ToArray());
        foreach (var r in rows) Row(r);
    }

    /// <summary>
    /// JSON for scripts: format, (task,) root, usable, images, objects, errors, warnings, decoded_images, class_unit,
    /// splits [{name, images, objects, empty_images(, sizes {min, max, most_common: [w, h], most_common_count})}],
    /// classes [{index, name, category_id, count}], problems [{kind, severity, count, examples}].
    /// </summary>
    public void WriteJson(Stream stream)
    {
        using var w = NewWriter(stream);
        WriteJson(w);
    }

    /// <summary>Several reports (VOC with detection and segmentation data): {usable (all are), reports [each as <see cref="WriteJson(Stream)"/>]}.</summary>
    public static void WriteJson(Stream stream, IReadOnlyList<DataCheckReport> reports)
    {
        if (reports.Count == 1)
        {
            reports[0].WriteJson(stream);
            return;
        }
        using var w = NewWriter(stream);
        w.WriteStartObject();
        w.WriteBoolean("usable", reports.All(r => r.Usable));
        w.WriteStartArray("reports");
        foreach (var r in reports) r.WriteJson(w);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static Utf8JsonWriter NewWriter(Stream stream) =>
        new(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("format", Format);
        if (Task is not null) w.WriteString("task", Task);
        w.WriteString("root", Root);
        w.WriteBoolean("usable", Usable);
        w.WriteNumber("images", Images);
        if (Objects is int objects) w.WriteNumber("objects", objects);
        else w.WriteNull("objects");
        w.WriteNumber("errors", Errors);
        w.WriteNumber("warnings", Warnings);
        w.WriteBoolean("decoded_images", DecodedImages);
        w.WriteString("class_unit", ClassUnit);
        w.WriteStartArray("splits");
        foreach (var s in Splits)
        {
            w.WriteStartObject();
            w.WriteString("name", s.Name);
            w.WriteNumber("images", s.Images);
            if (s.Objects is int so) w.WriteNumber("objects", so);
            else w.WriteNull("objects");
            w.WriteNumber("empty_images", s.EmptyImages);
            if (s.Sizes is { } z)
            {
                w.WriteStartObject("sizes");
                WriteSize(w, "min", z.Min);
                WriteSize(w, "max", z.Max);
                WriteSize(w, "most_common", z.MostCommon);
                w.WriteNumber("most_common_count", z.MostCommonCount);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("classes");
        foreach (var c in Classes)
        {
            w.WriteStartObject();
            w.WriteNumber("index", c.Index);
            w.WriteString("name", c.Name);
            if (c.CategoryId is long id) w.WriteNumber("category_id", id);
            else w.WriteNull("category_id");
            w.WriteNumber("count", c.Count);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("problems");
        foreach (var p in Problems)
        {
            w.WriteStartObject();
            w.WriteString("kind", p.Kind);
            w.WriteString("severity", p.Severity == IssueSeverity.Error ? "error" : "warning");
            w.WriteNumber("count", p.Count);
            w.WriteStartArray("examples");
            foreach (var e in p.Examples) w.WriteStringValue(e);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static void WriteSize(Utf8JsonWriter w, string name, (int Width, int Height) size)
    {
        w.WriteStartArray(name);
        w.WriteNumberValue(size.Width);
        w.WriteNumberValue(size.Height);
        w.WriteEndArray();
    }
}

/// <summary>A format <c>data check</c> knows: its name, what it is, and the function that checks a dataset of it (one report per task it holds).</summary>
public sealed record DataCheckFormat(string Name, string Task, string Description, Func<string, DataCheckOptions, IReadOnlyList<DataCheckReport>> Check);

/// <summary>Options of a check: decode every image (finds truncated or corrupt files) or only read headers; progress in images.</summary>
public sealed record DataCheckOptions(bool DecodeImages = true, IProgress<(int Done, int Total)>? Progress = null);

/// <summary>
/// The formats <c>pixelbox data check --format</c> accepts: the detection formats (objects per class), the
/// segmentation layouts cityscapes and masks (pixels per class), and voc, which checks whatever a VOC2012 folder
/// holds: Annotations/ (detection), SegmentationClass/ (segmentation), or both.
/// </summary>
public static class DataCheckFormats
{
    public static IReadOnlyList<DataCheckFormat> All { get; } =
    [
        .. DetectionFormats.All.Select(f => f == DetectionFormats.Voc
            ? new DataCheckFormat(f.Name, "detection, segmentation", $"{f.Layout}, and/or {SegmentationFormats.Voc.Layout}", CheckVoc)
            : new DataCheckFormat(f.Name, "detection", f.Layout, (root, options) => [DetectionDataCheck.Run(root, f, options)])),
        .. new[] { SegmentationFormats.Cityscapes, SegmentationFormats.Masks }.Select(f => new DataCheckFormat(f.Name, "segmentation", f.Layout,
            (root, options) => [SegmentationDataCheck.Run(root, f, options)])),
    ];

    /// <summary>The detection report when root has Annotations/ (or no segmentation data: its errors say what is missing), the segmentation report when it has SegmentationClass/.</summary>
    static IReadOnlyList<DataCheckReport> CheckVoc(string root, DataCheckOptions options)
    {
        bool segmentation = VocSegmentationFormat.IsPresent(root);
        var reports = new List<DataCheckReport>();
        if (Directory.Exists(Path.Combine(root, "Annotations")) || !segmentation)
            reports.Add(DetectionDataCheck.Run(root, DetectionFormats.Voc, options));
        if (segmentation)
            reports.Add(SegmentationDataCheck.Run(root, SegmentationFormats.Voc, options));
        return reports;
    }

    public static DataCheckFormat Get(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new InputException($"--format: unknown format '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})");
}
