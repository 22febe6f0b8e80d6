using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace PixelBox.Data;

/// <summary>
/// YOLO txt (Ultralytics/Darknet): <c>data.yaml</c> names the classes and the splits, images live under
/// <c>images/</c>, and each image has a label file at the same path with <c>/images/</c> replaced by <c>/labels/</c>
/// and the extension by <c>.txt</c>: one object per line, <c>class cx cy w h</c>, centre and size divided by the image's
/// width and height. A line <c>class x1 y1 x2 y2 ...</c> (a segmentation polygon) is read as its bounding box, as
/// Ultralytics does. A missing label file means no objects (reported as a warning).
/// <para>data.yaml keys read: <c>names</c> (a list <c>[a, b]</c> or a map <c>0: a</c>, <c>1: b</c> with keys 0..K-1),
/// <c>nc</c> (checked against names; alone it gives names class_0..), <c>path</c> (the dataset root, relative to
/// data.yaml's folder; when that is not a folder, as in files written for Ultralytics' global datasets folder,
/// data.yaml's folder), <c>train</c>/<c>val</c>/<c>test</c> (each a folder of images, a .txt list of image paths
/// relative to the list's folder, or a list of those). A split's name is its folder under images/ (images/train2017
/// gives "train2017"), a list file's stem, else the key.</para>
/// <para>What YOLO carries: class names, image files, per object the class and box. Not carried: image and category
/// ids (images are numbered 1..N, categories 1..K), iscrowd, area, difficult, truncated; image sizes come from the
/// image files. Boxes are written with the shortest decimals (6, 9, 12 digits, then round-trip) that read back to the
/// very same float corners in pixels.</para>
/// </summary>
public static class YoloDetectionFormat
{
    public static readonly string[] SplitKeys = ["train", "val", "test"];

    /// <summary>A data.yaml larger than this is refused before it is read (one naming 100,000 classes takes ~2 MB).</summary>
    public const long MaxYamlBytes = 16L << 20;

    /// <summary>Nesting deeper than this in data.yaml is refused (its documents nest 2 or 3 levels).</summary>
    public const int MaxYamlDepth = 64;

    /// <summary>Most classes data.yaml may declare (nc or names).</summary>
    public const int MaxClasses = 100_000;

    /// <summary>A label file larger than this is refused before it is read (about two million objects).</summary>
    public const long MaxLabelBytes = 64L << 20;

    /// <summary>The data.yaml key a split is written under: train*, val*, test* (not trainval), or null when it has none.</summary>
    public static string? RoleOf(string split) =>
        split.StartsWith("trainval", StringComparison.Ordinal) ? null
        : SplitKeys.FirstOrDefault(k => split.StartsWith(k, StringComparison.Ordinal));

    public static string FindYaml(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new InputException(path, "dataset folder not found");
        var data = Path.Combine(path, "data.yaml");
        if (Path.Exists(data)) return data;
        var yamls = Directory.GetFiles(path, "*.yaml").Concat(Directory.GetFiles(path, "*.yml")).ToArray();
        return yamls.Length == 1 ? yamls[0]
            : throw new InputException(path, yamls.Length == 0
                ? "no data.yaml (a YOLO dataset names its classes and splits in data.yaml)"
                : $"no data.yaml and several .yaml files ({string.Join(", ", yamls.Select(Path.GetFileName))}); pass the one to use");
    }

    /// <summary>What data.yaml says: the dataset root, the class names and the sources of each split key (folders or list files).</summary>
    internal sealed record YamlSpec(string Root, string[] Names, List<(string Key, List<string> Sources)> Splits);

    public static DetectionDataset Read(string path, IssueLog log)
    {
        var yaml = FindYaml(path);
        var spec = ReadYaml(yaml);
        var splits = new List<DetectionSplit>();
        long nextId = 1;
        foreach (var (key, sources) in spec.Splits)
        {
            var name = SplitName(key, sources, spec.Root);
            if (splits.Any(s => s.Name == name)) name = key;
            var files = new List<(string FileName, string Path)>();
            foreach (var source in sources)
                files.AddRange(ListImages(yaml, key, source, spec.Root, name));
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var unique = new List<(string FileName, string Path)>();
            foreach (var f in files)
                if (seen.Add(f.FileName)) unique.Add(f);
                else log.Report(IssueKinds.DuplicateId, f.Path, $"split '{name}' has two images named '{f.FileName}'");
            var images = new DetectionImage?[unique.Count];
            DatasetFiles.ParallelInOrder(unique.Count, i => images[i] = ReadImage(unique[i].FileName, unique[i].Path, spec.Names, log));
            var list = new List<DetectionImage>();
            foreach (var image in images)
                if (image is not null) list.Add(image with { Id = nextId++ });
            splits.Add(new DetectionSplit(name, list));
            foreach (var source in sources)
                ReportOrphanLabels(source, spec.Root, log);
        }
        return new DetectionDataset(spec.Root, "yolo", spec.Names, DetectionDataset.NumberedCategoryIds(spec.Names.Length), splits);
    }

    /// <summary>
    /// Reads data.yaml (a regular file of at most <see cref="MaxYamlBytes"/>, <see cref="InputFile"/>): one mapping,
    /// nesting at most <see cref="MaxYamlDepth"/> levels, no aliases, at most <see cref="MaxClasses"/> classes.
    /// </summary>
    internal static YamlSpec ReadYaml(string file)
    {
        var text = InputFile.ReadAllText(file, MaxYamlBytes, "data.yaml");
        var stream = new YamlStream();
        var parser = new CheckedYamlParser(new Parser(new StringReader(text)), file);
        try
        {
            stream.Load(parser);
        }
        catch (YamlException e)
        {
            throw new InputException(file, $"malformed YAML at line {e.Start.Line}, column {e.Start.Column}: {OneLine((e.InnerException ?? e).Message)}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet fails so on some malformed input (e.g. an unclosed [ list running into the next lines)
            throw new InputException(file, $"malformed YAML after line {parser.Line}: {OneLine(e.Message)}");
        }
        var map = stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode m ? m
            : throw new InputException(file, "expected one YAML mapping (names:, train:, val: ...)");
        var keys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode { Value: { } key }) keys[key] = v;

        // 'names:' with nothing after it counts as absent, as an empty 'test:' does
        string[]? names = keys.TryGetValue("names", out var namesNode) && namesNode is not YamlScalarNode { Value: null or "" or "~" or "null" }
            ? Names(file, namesNode) : null;
        if (keys.TryGetValue("nc", out var ncNode))
        {
            if (ncNode is not YamlScalarNode { Value: { } ncText } || !int.TryParse(ncText, NumberStyles.None, CultureInfo.InvariantCulture, out int nc))
                throw new InputException(file, $"line {ncNode.Start.Line}: 'nc' must be a non-negative integer");
            if (nc > MaxClasses)
                throw new InputException(file, $"line {ncNode.Start.Line}: nc is {nc}; at most {MaxClasses:N0} classes");
            if (names is null) names = Enumerable.Range(0, nc).Select(k => $"class_{k}").ToArray();
            else if (names.Length != nc) throw new InputException(file, $"line {ncNode.Start.Line}: nc is {nc} but names lists {names.Length} classes");
        }
        if (names is null) throw new InputException(file, "no 'names' (the class names, e.g. names: [cat, dog]) and no 'nc'");

        var folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        var root = folder;
        if (keys.TryGetValue("path", out var pathNode) && pathNode is YamlScalarNode { Value: { Length: > 0 } p })
        {
            var candidate = Path.GetFullPath(Path.Combine(folder, p));
            if (Directory.Exists(candidate)) root = candidate;
        }
        var splits = new List<(string, List<string>)>();
        foreach (var key in SplitKeys)
        {
            if (!keys.TryGetValue(key, out var node)) continue;
            var sources = node switch
            {
                YamlScalarNode { Value: null or "" } => [],
                YamlScalarNode { Value: { } one } when one is not ("null" or "~") => [one],
                YamlScalarNode => [],
                YamlSequenceNode seq => seq.Children.Select(c => c is YamlScalarNode { Value: { Length: > 0 } v } ? v
                    : throw new InputException(file, $"line {c.Start.Line}: '{key}' entries must be paths")).ToList(),
                _ => throw new InputException(file, $"line {node.Start.Line}: '{key}' must be a path or a list of paths"),
            };
            if (sources.Count > 0) splits.Add((key, sources));
        }
        if (splits.Count == 0) throw new InputException(file, "no splits: give train: (and val:, test:) as image folders or lists");
        return new YamlSpec(root, names, splits);
    }

    static string[] Names(string file, YamlNode node)
    {
        switch (node)
        {
            case YamlSequenceNode { Children.Count: > MaxClasses } or YamlMappingNode { Children.Count: > MaxClasses }:
                throw new InputException(file, $"line {node.Start.Line}: 'names' lists more than {MaxClasses:N0} classes");
            case YamlSequenceNode seq:
                return seq.Children.Select(c => c is YamlScalarNode { Value: { Length: > 0 } v } ? v
                    : throw new InputException(file, $"line {c.Start.Line}: a class name must be a non-empty string")).ToArray();
            case YamlMappingNode map:
                var names = new string[map.Children.Count];
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode { Value: { } keyText } || !int.TryParse(keyText, NumberStyles.None, CultureInfo.InvariantCulture, out int index)
                        || index >= names.Length || names[index] is not null)
                        throw new InputException(file, $"line {k.Start.Line}: the keys of 'names' must be the class indices 0..{names.Length - 1}, each once");
                    names[index] = v is YamlScalarNode { Value: { Length: > 0 } name } ? name
                        : throw new InputException(file, $"line {v.Start.Line}: a class name must be a non-empty string");
                }
                return names;
            default:
                throw new InputException(file, $"line {node.Start.Line}: 'names' must be a list [a, b] or a map 0: a, 1: b");
        }
    }

    static string SplitName(string key, List<string> sources, string root)
    {
        if (sources.Count != 1) return key;
        var full = Path.GetFullPath(Path.Combine(root, sources[0]));
        if (Directory.Exists(full) && Path.GetFileName(Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar))) == "images")
            return Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar));
        if (File.Exists(full) && full.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
            return Path.GetFileNameWithoutExtension(full);
        return key;
    }

    /// <summary>(file name within the split, path) of a split source: a folder (searched recursively) or a .txt list.</summary>
    static IEnumerable<(string FileName, string Path)> ListImages(string yaml, string key, string source, string root, string split)
    {
        var full = Path.GetFullPath(Path.Combine(root, source));
        if (Directory.Exists(full))
            return Directory.EnumerateFiles(full, "*", SearchOption.AllDirectories)
                .Where(f => DatasetFiles.IsImage(f) && !Path.GetFileName(f).StartsWith('.'))
                .Select(f => (DatasetFiles.Relative(full, f), f))
                .OrderBy(f => f.Item1, StringComparer.Ordinal);
        if (Path.Exists(full))
        {
            var folder = Path.GetDirectoryName(full)!;
            var splitFolder = Path.Combine(root, "images", split);
            return InputFile.ReadAllLines(full).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => Path.GetFullPath(Path.Combine(folder, l)))
                .Select(p => (StagedFolder.IsSameOrInside(p, splitFolder) ? DatasetFiles.Relative(splitFolder, p) : Path.GetFileName(p), p));
        }
        throw new InputException(yaml, $"'{key}': {source} is neither a folder nor a list file (looked for {full})");
    }

    public static string LabelPath(string imagePath)
    {
        var sep = Path.DirectorySeparatorChar;
        string images = $"{sep}images{sep}", labels = $"{sep}labels{sep}";
        int at = imagePath.LastIndexOf(images, StringComparison.Ordinal);
        var path = at < 0 ? imagePath : imagePath[..at] + labels + imagePath[(at + images.Length)..];
        return Path.ChangeExtension(path, ".txt");
    }

    static DetectionImage? ReadImage(string fileName, string path, string[] names, IssueLog log)
    {
        var labels = LabelPath(path);
        if (!CocoDetectionFormat.TryReadSize(path, labels, "image", log, out int width, out int height)) return null;
        if (!Path.Exists(labels))
        {
            log.Report(IssueKinds.MissingLabels, labels, $"no label file for {path} (read as an image without objects)");
            return new DetectionImage(0, fileName, path, width, height, []);
        }
        var objects = log.Guard(labels, () => ParseLabels(labels, names.Length, width, height, log), null);
        return objects is null ? null : new DetectionImage(0, fileName, path, width, height, objects);
    }

    /// <summary>
    /// Reads a label file (a regular file of at most <see cref="MaxLabelBytes"/>, <see cref="InputFile"/>) of an image of
    /// <paramref name="width"/> x <paramref name="height"/> pixels: the objects in pixel corners, finite in float32 (checked).
    /// A malformed line is an <see cref="InputException"/>; a class beyond <paramref name="numClasses"/> an
    /// error (the line is skipped when errors are collected); a box out of the image or without area a warning (kept).
    /// </summary>
    internal static List<DetectionObject> ParseLabels(string file, int numClasses, int width, int height, IssueLog log)
    {
        var objects = new List<DetectionObject>();
        var lines = InputFile.ReadAllLines(file, MaxLabelBytes, "a YOLO label file");
        var values = new List<double>();
        for (int n = 0; n < lines.Length; n++)
        {
            var tokens = lines[n].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (tokens.Length == 0) continue;
            string where = $"line {n + 1}";
            if (!int.TryParse(tokens[0], NumberStyles.None, CultureInfo.InvariantCulture, out int label))
            {
                if (!DatasetFiles.TryParseFinite(tokens[0], out double l) || l != Math.Floor(l) || l < 0 || l > int.MaxValue)
                    throw new InputException(file, $"{where}: class {DatasetFiles.Shown(tokens[0])} is not a class index");
                label = (int)l;
            }
            if (tokens.Length != 5 && (tokens.Length < 7 || tokens.Length % 2 == 0))
                throw new InputException(file, $"{where}: {tokens.Length} values; a label line is 'class cx cy w h' (5 values) or a polygon 'class x1 y1 x2 y2 x3 y3 ...'");
            values.Clear();
            for (int t = 1; t < tokens.Length; t++)
            {
                if (!DatasetFiles.TryParseFinite(tokens[t], out double v))
                    throw new InputException(file, $"{where}: {DatasetFiles.Shown(tokens[t])} is not a finite number");
                values.Add(v);
            }
            if (label >= numClasses)
            {
                log.Report(IssueKinds.UnknownClass, file, $"{where}: class {label} is not one of the {numClasses} classes of data.yaml (0..{numClasses - 1})");
                continue;
            }
            DetectionObject o;
            if (tokens.Length == 5)
            {
                double cx = values[0], cy = values[1], w = values[2], h = values[3];
                o = new DetectionObject(label, (float)((cx - w / 2) * width), (float)((cy - h / 2) * height),
                                        (float)((cx + w / 2) * width), (float)((cy + h / 2) * height));
            }
            else
            {
                double x0 = double.MaxValue, y0 = double.MaxValue, x1 = double.MinValue, y1 = double.MinValue;
                for (int k = 0; k < values.Count; k += 2)
                {
                    x0 = Math.Min(x0, values[k]); x1 = Math.Max(x1, values[k]);
                    y0 = Math.Min(y0, values[k + 1]); y1 = Math.Max(y1, values[k + 1]);
                }
                o = new DetectionObject(label, (float)(x0 * width), (float)(y0 * height), (float)(x1 * width), (float)(y1 * height));
            }
            if (!DatasetFiles.IsFinite(o))
                throw new InputException(file, $"{where}: the box is {DatasetFiles.BeyondFloat} in the {width}x{height} image");
            DatasetFiles.CheckBox(o, width, height, file, where, log);
            objects.Add(o);
        }
        return objects;
    }

    static void ReportOrphanLabels(string source, string root, IssueLog log)
    {
        var images = Path.GetFullPath(Path.Combine(root, source));
        if (!Directory.Exists(images)) return;
        var labels = LabelPath(Path.Combine(images, "x.png"));
        labels = Path.GetDirectoryName(labels)!;
        if (labels == images || !Directory.Exists(labels)) return;
        var stems = Directory.EnumerateFiles(images, "*", SearchOption.AllDirectories).Where(DatasetFiles.IsImage)
            .Select(f => Path.ChangeExtension(DatasetFiles.Relative(images, f), null)).ToHashSet(StringComparer.Ordinal);
        foreach (var label in Directory.EnumerateFiles(labels, "*.txt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            if (!stems.Contains(Path.ChangeExtension(DatasetFiles.Relative(labels, label), null)))
                log.Report(IssueKinds.OrphanLabels, label, "label file without an image");
    }

    /// <summary>
    /// Writes data.yaml (names as a map, nc, one key per split), images/&lt;split&gt;/ and labels/&lt;split&gt;/ (a label
    /// file for every image, empty when it has no objects). Splits without a data.yaml key (see <see cref="RoleOf"/>)
    /// are not written; two splits with one key are an error.
    /// </summary>
    public static void Write(DetectionDataset data, string outDir, ImageTransfer transfer)
    {
        var roles = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var split in data.Splits)
            if (RoleOf(split.Name) is { } role && !roles.TryAdd(role, split.Name))
                throw new InputException(data.Root, $"splits '{roles[role]}' and '{split.Name}' would both be data.yaml's '{role}:'");
        File.WriteAllText(Path.Combine(outDir, "data.yaml"), DataYaml(data.ClassNames, roles));

        foreach (var split in data.Splits)
        {
            if (RoleOf(split.Name) is null) continue;
            foreach (var image in split.Images)
            {
                var imagePath = Path.Combine(outDir, "images", split.Name, image.FileName.Replace('/', Path.DirectorySeparatorChar));
                DatasetFiles.PlaceImage(image.Path, imagePath, transfer);
                var labelPath = LabelPath(imagePath);
                Directory.CreateDirectory(Path.GetDirectoryName(labelPath)!);
                File.WriteAllText(labelPath, Labels(image));
            }
        }
    }

    /// <summary>data.yaml's text: one key per split role (images/&lt;split&gt;), nc, and names as a map.</summary>
    internal static string DataYaml(IReadOnlyList<string> classNames, IReadOnlyDictionary<string, string> splitOfRole)
    {
        var yaml = new StringBuilder();
        foreach (var key in SplitKeys)
            if (splitOfRole.TryGetValue(key, out var split)) yaml.Append($"{key}: {Scalar("images/" + split)}\n");
        yaml.Append($"nc: {classNames.Count}\nnames:{(classNames.Count == 0 ? " []" : "")}\n");
        for (int k = 0; k < classNames.Count; k++) yaml.Append($"  {k}: {Scalar(classNames[k])}\n");
        return yaml.ToString();
    }

    /// <summary>A label file's text: one line 'class cx cy w h' per object, exact (see <see cref="CentreAndSize"/>).</summary>
    internal static string Labels(DetectionImage image)
    {
        var sb = new StringBuilder();
        foreach (var o in image.Objects)
        {
            var (cx, w) = CentreAndSize(o.X0, o.X1, image.Width);
            var (cy, h) = CentreAndSize(o.Y0, o.Y1, image.Height);
            sb.Append(o.Label.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(cx).Append(' ').Append(cy)
              .Append(' ').Append(w).Append(' ').Append(h).Append('\n');
        }
        return sb.ToString();
    }

    static readonly string[] NormalisedFormats = ["0.######", "0.#########", "0.############", "R"];

    /// <summary>Normalised centre and size text, the shortest for which the reader's arithmetic gives back exactly lo and hi.</summary>
    internal static (string Centre, string Size) CentreAndSize(float lo, float hi, int side)
    {
        double centre = ((double)lo + hi) / 2 / side, size = ((double)hi - lo) / side;
        (string, string) text = default;
        foreach (var format in NormalisedFormats)
        {
            text = (DatasetFiles.Format(centre, format), DatasetFiles.Format(size, format));
            double c = DatasetFiles.ParseDouble(text.Item1), s = DatasetFiles.ParseDouble(text.Item2);
            if ((float)((c - s / 2) * side) == lo && (float)((c + s / 2) * side) == hi) break;
        }
        return text;
    }

    static readonly Regex PlainScalar = new(@"^[A-Za-z_][A-Za-z0-9_.\-/ ]*(?<! )$", RegexOptions.CultureInvariant);
    static readonly string[] Reserved = ["true", "false", "yes", "no", "on", "off", "null", "y", "n"];

    static string OneLine(string message) => string.Concat(message.Select(c => char.IsControl(c) ? ' ' : c));

    /// <summary>Whether a name reads back unchanged from a one-line YAML scalar: printable (YAML's set), no line breaks (U+2028/9 included), no lone surrogates.</summary>
    static bool YamlCanHold(string value)
    {
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) { i++; continue; }
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029' or '\uFFFE' or '\uFFFF') return false;
        }
        return true;
    }

    /// <summary>A YAML scalar: plain when unambiguous, else single-quoted.</summary>
    static string Scalar(string value)
    {
        if (!YamlCanHold(value)) throw new InputException($"class or split name {DatasetFiles.Shown(value)} has control characters or line breaks, which data.yaml cannot hold");
        return PlainScalar.IsMatch(value) && !Reserved.Contains(value.ToLowerInvariant()) ? value : "'" + value.Replace("'", "''") + "'";
    }

    /// <summary>
    /// YamlDotNet's parser with data.yaml's limits: its document model is built recursively, so nesting is capped
    /// (deep nesting would overflow the stack), and aliases are refused (a node that contains itself cannot be a
    /// list of names or paths, and hashing one as a mapping key never ends).
    /// </summary>
    sealed class CheckedYamlParser(IParser inner, string file) : IParser
    {
        int depth;

        public ParsingEvent? Current => inner.Current;

        /// <summary>The line where the last event read ends (1-based).</summary>
        public long Line { get; private set; } = 1;

        public bool MoveNext()
        {
            if (!inner.MoveNext()) return false;
            Line = inner.Current?.End.Line ?? Line;
            switch (inner.Current)
            {
                case AnchorAlias alias:
                    throw new InputException(file, $"line {alias.Start.Line}: aliases (*name) are not supported in data.yaml");
                case { NestingIncrease: > 0 } start when ++depth > MaxYamlDepth:
                    throw new InputException(file, $"line {start.Start.Line}: nested deeper than {MaxYamlDepth} levels");
                case { NestingIncrease: < 0 }:
                    depth--;
                    break;
            }
            return true;
        }
    }
}
