using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using PixelBox.Data;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// The detection dataset readers, through a file as the readers open it (<see cref="InputFile"/>): a VOC annotation,
/// a YOLO label file, a data.yaml. Each must give only one-line errors naming the file, warnings of one line,
/// finite boxes with a warning for every box out of its image or without area, and what it reads must survive the
/// format's own writer: write, read again, the same data.
/// </summary>
static class DetectionTargets
{
    public static FuzzTarget VocXml() => new()
    {
        Name = "voc-xml",
        Checks = "VOC annotation XML via a file: one-line errors naming the file, finite boxes, a warning per odd box, write + read == read (corners as floats)",
        Run = input =>
        {
            var path = TempFiles.Write(input, ".xml");
            var annotation = Reading(path, () => VocDetectionFormat.ReadAnnotation(path));
            var names = VocDetectionFormat.InferClasses(annotation.Objects.Select(o => o.Name));
            var labelOf = names.Select((n, k) => (n, k)).ToDictionary(p => p.n, p => p.k, StringComparer.Ordinal);
            var log = new IssueLog();
            var objects = VocDetectionFormat.ToObjects(annotation, annotation.Width, annotation.Height, labelOf, path, "classes.txt", log);
            CheckObjects(objects, names.Length, annotation.Width, annotation.Height, log);

            var image = new DetectionImage(1, annotation.FileName ?? "image.jpg", path, annotation.Width, annotation.Height, objects);
            var xml = Encoding.UTF8.GetBytes(VocDetectionFormat.AnnotationXml(names, image));
            VocDetectionFormat.VocAnnotation again;
            try
            {
                again = VocDetectionFormat.ParseAnnotation(xml, "again.xml");
            }
            catch (InputException e)
            {
                throw new PropertyViolation($"the writer's XML does not read back: {e.Message}");
            }
            if (again.FileName != image.FileName || again.Width != image.Width || again.Height != image.Height)
                throw new PropertyViolation($"written and read again: {again.FileName} {again.Width}x{again.Height}, was {image.FileName} {image.Width}x{image.Height}");
            var reread = VocDetectionFormat.ToObjects(again, again.Width, again.Height, labelOf, "again.xml", "classes.txt", new IssueLog());
            SameObjects(objects, reread, names);
        },
        Mutate = MutateVoc,
        Dictionary = Tokens(
            "<annotation>", "</annotation>", "<object>", "</object>", "<name>", "</name>", "<bndbox>", "</bndbox>",
            "<xmin>", "</xmin>", "<ymin>", "</ymin>", "<xmax>", "</xmax>", "<ymax>", "</ymax>", "<size>", "</size>",
            "<width>", "</width>", "<height>", "</height>", "<filename>", "</filename>", "<difficult>1</difficult>",
            "<truncated>1</truncated>", "<difficult>", "<?xml version=\"1.0\"?>", "<!DOCTYPE a [<!ENTITY e \"x\">]>", "&amp;",
            "&#10;", "&#x0;", "&#xD800;", "<![CDATA[", "]]>", "<!--", "-->", "xmlns=\"u\"", "1e8", "-1e8", "1e9", "3.4e38",
            "-0", "0.5", "NaN", "Infinity", "\n", "\r\n", "\t"),
    };

    public static FuzzTarget YoloTxt() => new()
    {
        Name = "yolo-txt",
        Checks = "YOLO label file ('W H K' line, then the file) via a file: one-line errors naming the file, classes < K, finite boxes, a warning per odd box, write + read == read",
        Run = input =>
        {
            var (width, height, classes, labels) = SplitHeader(input);
            var path = TempFiles.Write(labels, ".txt");
            // collecting errors (data check): an unknown class is recorded and its line skipped
            var collecting = new IssueLog(collectErrors: true);
            var objects = Reading(path, () => YoloDetectionFormat.ParseLabels(path, classes, width, height, collecting));
            CheckObjects(objects, classes, width, height, collecting);
            // strict (training, convert): the first error stops with its line; without errors, the same objects
            List<DetectionObject>? strict = null;
            try
            {
                strict = YoloDetectionFormat.ParseLabels(path, classes, width, height, new IssueLog());
            }
            catch (InputException e) when (collecting.HasErrors)
            {
                var recorded = collecting.Issues.Where(i => i.Severity == IssueSeverity.Error).Select(i => i.ToString()).Order(StringComparer.Ordinal);
                if (!recorded.Contains(e.Message))
                    throw new PropertyViolation($"the strict reader stopped with '{e.Message}', not an error the collecting reader recorded");
            }
            if (strict is not null && collecting.HasErrors)
                throw new PropertyViolation("the strict reader passed a file with errors");
            if (strict is not null)
                SameObjects(objects, strict, null);

            var image = new DetectionImage(1, "image.png", path, width, height, objects);
            var written = TempFiles.Write(Encoding.UTF8.GetBytes(YoloDetectionFormat.Labels(image)), ".txt");
            List<DetectionObject> reread;
            try
            {
                reread = YoloDetectionFormat.ParseLabels(written, classes, width, height, new IssueLog());
            }
            catch (InputException e)
            {
                throw new PropertyViolation($"the writer's label file does not read back: {e.Message}");
            }
            SameYoloBoxes(objects, reread, width, height);
        },
        Mutate = MutateYolo,
        Dictionary = Tokens(
            "0 0.5 0.5 1 1\n", "1 0.25 0.75 0.1 0.2\n", "2 0.1 0.1 0.2 0.1 0.2 0.3\n", " ", "\t", "\n", "\r\n", "\r",
            "0.5", "1e8", "-1e8", "1e9", "1e-45", "3.4e38", "-0", "NaN", "Infinity", "2147483647", "2147483648",
            "4294967296", "1.0", "1e3", "0x10", "\u00a0", "\u2028", "\u0085"),
    };

    public static FuzzTarget DataYaml() => new()
    {
        Name = "data-yaml",
        Checks = "YOLO data.yaml via a file: one-line errors naming the file, 1..100000 non-empty names, splits with paths; writer's data.yaml reads back to the same names",
        Run = input =>
        {
            var path = TempFiles.Write(input, ".yaml");
            var spec = Reading(path, () => YoloDetectionFormat.ReadYaml(path));
            if (spec.Names.Length > YoloDetectionFormat.MaxClasses || spec.Names.Any(string.IsNullOrEmpty))
                throw new PropertyViolation($"{spec.Names.Length} names read, some empty or too many");
            if (spec.Splits.Count == 0 || spec.Splits.Any(s => s.Sources.Count == 0 || s.Sources.Any(string.IsNullOrEmpty)))
                throw new PropertyViolation("a split without sources or with an empty one");

            // writing and parsing a list of 100,000 generated names again costs more than the budget of the 20-byte
            // 'nc: 100000' that made it; reading it, which is what users meet, has been measured by now
            if (spec.Names.Length > 10_000)
                return;
            var roles = spec.Splits.ToDictionary(s => s.Key, s => "x" + s.Key);
            string text;
            try
            {
                text = YoloDetectionFormat.DataYaml(spec.Names, roles);
            }
            catch (InputException e) when (e.Message.StartsWith("class or split name ", StringComparison.Ordinal) && !e.Message.Contains('\n'))
            {
                return; // a name YAML reads but a one-line scalar cannot hold: refused, as documented
            }
            var written = TempFiles.Write(Encoding.UTF8.GetBytes(text), ".yaml");
            YoloDetectionFormat.YamlSpec again;
            try
            {
                again = YoloDetectionFormat.ReadYaml(written);
            }
            catch (InputException e)
            {
                throw new PropertyViolation($"the writer's data.yaml does not read back: {e.Message}");
            }
            if (!again.Names.SequenceEqual(spec.Names, StringComparer.Ordinal))
                throw new PropertyViolation($"names written and read again differ: [{string.Join(", ", again.Names.Select(Show))}], were [{string.Join(", ", spec.Names.Select(Show))}]");
            if (!again.Splits.Select(s => s.Key).SequenceEqual(spec.Splits.Select(s => s.Key)))
                throw new PropertyViolation("split keys written and read again differ");
        },
        Dictionary = Tokens(
            "names:", "nc:", "path:", "train:", "val:", "test:", " [a, b]", "\n  0: a\n  1: b\n", "{0: a}", "- ", "&a ", "*a",
            "!!str ", "!!binary ", "? ", ": ", "'", "\"", "\\x01", "\\u2028", "\\N", "\\L", "#", "---\n", "...\n", "%YAML 1.2\n",
            "[", "]", "{", "}", "|\n", ">\n", "\n", "\t", "100000", "100001", "2147483648", "null", "~", "<<: "),
    };

    /// <summary>Values that mutations put where a file has a number or a name.</summary>
    static readonly string[] Values =
    [
        "0", "1", "-1", "0.5", "2.5", "1e8", "-1e8", "1e38", "3.4028235e38", "3.5e38", "-3.5e38", "1e300", "1e-45", "1e-300",
        "-0", "2147483647", "2147483648", "99999999999", "0.333333333333333333", " 7 ", "NaN", "Infinity", "1,5", "0x10", "",
        " ", "cat", " dog house ", "it&apos;s &amp; &lt;", "&#x85;", "&#xD;", "a\u2028b", "\u00e9\u0301", "\U0001F600",
        "<![CDATA[cat]]>", "\t1\n", "1\r\n2",
    ];

    /// <summary>Keeps the XML mostly well-formed so the reader gets past the parser: a value or name replaced, an object repeated, an element dropped.</summary>
    static byte[] MutateVoc(byte[] input, Random random)
    {
        var text = Encoding.UTF8.GetString(input);
        switch (random.Next(3))
        {
            case 0:
                var values = Regex.Matches(text, "<([a-z]+)>([^<>]*)</\\1>");
                if (values.Count == 0) break;
                var value = values[random.Next(values.Count)].Groups[2];
                text = text[..value.Index] + Values[random.Next(Values.Length)] + text[(value.Index + value.Length)..];
                break;
            case 1:
                var objects = Regex.Matches(text, "<object>.*?</object>", RegexOptions.Singleline);
                if (objects.Count == 0) break;
                var one = objects[random.Next(objects.Count)];
                text = text[..one.Index] + string.Concat(Enumerable.Repeat(one.Value, 1 + random.Next(8))) + text[one.Index..];
                break;
            default:
                var leaves = Regex.Matches(text, "<([a-z]+)>[^<>]*</\\1>");
                if (leaves.Count == 0) break;
                var leaf = leaves[random.Next(leaves.Count)];
                text = text[..leaf.Index] + text[(leaf.Index + leaf.Length)..];
                break;
        }
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>A number of a label line (or of the 'W H K' line) replaced, or a line repeated.</summary>
    static byte[] MutateYolo(byte[] input, Random random)
    {
        var lines = Encoding.UTF8.GetString(input).Split('\n').ToList();
        int n = random.Next(lines.Count);
        if (random.Next(4) == 0)
        {
            lines.Insert(n, lines[n]);
        }
        else
        {
            var tokens = lines[n].Split(' ');
            tokens[random.Next(tokens.Length)] = Values[random.Next(Values.Length)];
            lines[n] = string.Join(' ', tokens);
        }
        return Encoding.UTF8.GetBytes(string.Join('\n', lines));
    }

    /// <summary>Runs a reader on <paramref name="path"/>: an <see cref="InputException"/> must be one line naming the file.</summary>
    static T Reading<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InputException e) when (!e.Message.StartsWith(path + ": ", StringComparison.Ordinal))
        {
            throw new PropertyViolation($"an error does not name the file: '{e.Message}'");
        }
    }

    /// <summary>
    /// Labels within 0..K-1, finite corners, every issue one line and a warning (or an unknown class, the one error a
    /// reader records and goes on), and a warning for each box
    /// without area or (in an image of known size) beyond its edges by more than the tolerance.
    /// </summary>
    static void CheckObjects(IReadOnlyList<DetectionObject> objects, int classes, int width, int height, IssueLog log)
    {
        foreach (var o in objects)
        {
            if (o.Label < 0 || o.Label >= classes)
                throw new PropertyViolation($"class {o.Label} of {classes}");
            if (!float.IsFinite(o.X0) || !float.IsFinite(o.Y0) || !float.IsFinite(o.X1) || !float.IsFinite(o.Y1))
                throw new PropertyViolation($"a box that is not finite: {DatasetFiles.BoxText(o)}");
        }
        foreach (var issue in log.Issues)
            if (issue.ToString().Contains('\n') || issue.ToString().Contains('\r') || issue.Severity != IssueSeverity.Warning && issue.Kind != IssueKinds.UnknownClass)
                throw new PropertyViolation($"an issue that is not a one-line warning (or unknown class): {issue.Kind} '{issue}'");
        const float tol = IssueKinds.OutOfBoundsTolerance;
        int odd = objects.Count(o => !(o.X1 > o.X0) || !(o.Y1 > o.Y0)
            || width > 0 && height > 0 && (o.X0 < -tol || o.Y0 < -tol || o.X1 > width + tol || o.Y1 > height + tol));
        int warned = log.Issues.Count(i => i.Kind is IssueKinds.DegenerateBox or IssueKinds.BoxOutOfBounds);
        if (odd != warned)
            throw new PropertyViolation($"{odd} boxes without area or out of the {width}x{height} image, {warned} warnings");
    }

    /// <summary>Same classes, flags and corners (as floats: -0 == 0, which the writers print as 0).</summary>
    static void SameObjects(IReadOnlyList<DetectionObject> expected, IReadOnlyList<DetectionObject> actual, string[]? names)
    {
        if (expected.Count != actual.Count)
            throw new PropertyViolation($"{expected.Count} objects, {actual.Count} after writing and reading again");
        for (int i = 0; i < expected.Count; i++)
        {
            DetectionObject a = expected[i], b = actual[i];
            if (a.Label != b.Label || a.X0 != b.X0 || a.Y0 != b.Y0 || a.X1 != b.X1 || a.Y1 != b.Y1 || a.Difficult != b.Difficult || a.Truncated != b.Truncated)
                throw new PropertyViolation($"object {i}: {Describe(a, names)} became {Describe(b, names)}");
        }
    }

    /// <summary>
    /// The YOLO writer's promise: corners bit for bit as floats. The format stores centre and size, and the reader's
    /// c -+ w/2 in doubles cancels when one corner is tiny beside the other (a subnormal next to 240, 64 next to 6e10):
    /// such a corner (below 2^-26 of the axis's larger one) need only come back within what that arithmetic gives.
    /// </summary>
    static void SameYoloBoxes(IReadOnlyList<DetectionObject> expected, IReadOnlyList<DetectionObject> actual, int width, int height)
    {
        if (expected.Count != actual.Count)
            throw new PropertyViolation($"{expected.Count} objects, {actual.Count} after writing and reading again");
        static bool Same(float a, float b, float other)
        {
            double magnitude = Math.Max(Math.Abs(a), Math.Abs(other));
            return a == b || Math.Abs(a) < Math.Pow(2, -26) * magnitude && Math.Abs((double)a - b) <= Math.Pow(2, -46) * magnitude;
        }
        for (int i = 0; i < expected.Count; i++)
        {
            DetectionObject a = expected[i], b = actual[i];
            if (a.Label != b.Label || !Same(a.X0, b.X0, a.X1) || !Same(a.X1, b.X1, a.X0) || !Same(a.Y0, b.Y0, a.Y1) || !Same(a.Y1, b.Y1, a.Y0))
                throw new PropertyViolation($"object {i}: {Describe(a, null)} became {Describe(b, null)} ({width}x{height} image)");
        }
    }

    static string Describe(DetectionObject o, string[]? names) =>
        $"{(names is null ? o.Label.ToString(CultureInfo.InvariantCulture) : Show(names[o.Label]))} {DatasetFiles.BoxText(o)} difficult {o.Difficult} truncated {o.Truncated}";

    static string Show(string text) => DatasetFiles.Shown(text);

    /// <summary>The first line 'W H K' (image size 1..100000, classes 0..100000) and the label file after it; without a line break, 640 480 80.</summary>
    static (int Width, int Height, int Classes, byte[] Labels) SplitHeader(byte[] input)
    {
        int end = Array.IndexOf(input, (byte)'\n');
        if (end < 0)
            return (640, 480, 80, input);
        var fields = Encoding.Latin1.GetString(input, 0, end).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        int Field(int i, int fallback, int min) =>
            i < fields.Length && long.TryParse(fields[i], NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? (int)Math.Clamp(v, min, 100_000) : fallback;
        // images are at least 1x1 (the readers refuse empty ones); zero classes is a data.yaml with 'names: []'
        return (Field(0, 640, 1), Field(1, 480, 1), Field(2, 80, 0), input[(end + 1)..]);
    }

    static byte[][] Tokens(params string[] tokens) => [.. tokens.Select(Encoding.UTF8.GetBytes)];
}
