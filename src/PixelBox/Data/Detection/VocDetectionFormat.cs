using System.Xml;
using System.Xml.Linq;

namespace PixelBox.Data;

/// <summary>
/// Pascal VOC: <c>Annotations/&lt;id&gt;.xml</c>, images in <c>JPEGImages/</c>, splits in <c>ImageSets/Main/&lt;split&gt;.txt</c>
/// (ids one per line; the two-column per-class files such as <c>dog_train.txt</c> are not splits). Without
/// ImageSets/Main every annotation file forms one split "all".
/// <para>Coordinates: VOC numbers pixels from 1 and its xmax/ymax are the last pixel inside the box, so a box
/// over pixel columns 1..W (the whole image) is xmin = 1, xmax = W. In continuous pixel coordinates (the image
/// spans [0, W]) that box is [xmin - 1, xmax]: x0 = xmin - 1, y0 = ymin - 1, x1 = xmax, y1 = ymax, the
/// convention of Detectron's VOC loader (which subtracts 1 from all four and then measures widths as x2 - x1 + 1)
/// and of the usual VOC-to-COCO converters (bbox = [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1]).
/// Writers add the 1 back; integral boxes are written as integers, others with the shortest decimals that read
/// back to the same float (VOC's own files are integral; fractional values are read as numbers too).</para>
/// <para>Class list: <c>classes.txt</c> at the root (one name per line, line k = class k; written by us) when
/// present, else the 20 VOC classes in their usual order when every name is one of them, else the names in
/// ordinal order. What VOC carries: file name, size, per object the name, box, difficult and truncated.
/// Not carried: COCO ids (images are numbered 1..N in split order), iscrowd, area; pose, occluded and parts
/// are read past.</para>
/// </summary>
public static class VocDetectionFormat
{
    public static readonly string[] VocClasses =
    [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog",
        "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ];

    /// <summary>An annotation file larger than this is refused before it is read (VOC's own are a few KB; this holds ~50,000 objects).</summary>
    public const long MaxAnnotationBytes = 16L << 20;

    /// <summary>An object as written in the file: 1-based inclusive pixel coordinates, whose corners are finite in float32.</summary>
    internal sealed record VocObject(string Name, double XMin, double YMin, double XMax, double YMax, bool Difficult, bool Truncated, int Line);

    /// <summary>One annotation file: &lt;filename&gt; (null when absent or empty), &lt;size&gt; (0 when absent) and the objects in file order.</summary>
    internal sealed record VocAnnotation(string? FileName, int Width, int Height, IReadOnlyList<VocObject> Objects);

    sealed record VocFile(string Id, string Xml, VocAnnotation Annotation)
    {
        public string? FileName => Annotation.FileName;
        public IReadOnlyList<VocObject> Objects => Annotation.Objects;
    }

    public static DetectionDataset Read(string root, IssueLog log)
    {
        if (!Directory.Exists(root)) throw new InputException(root, Path.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var annotations = Path.Combine(root, "Annotations");
        var images = Path.Combine(root, "JPEGImages");
        if (!Directory.Exists(annotations)) throw new InputException(annotations, "folder not found; a VOC dataset has Annotations/, JPEGImages/ and ImageSets/Main/");
        if (!Directory.Exists(images)) throw new InputException(images, "folder not found; a VOC dataset has Annotations/, JPEGImages/ and ImageSets/Main/");

        var splits = ReadSplits(root, annotations, log);
        // images are numbered 1..N in order of first appearance over the splits (VOC has no image ids)
        var ids = splits.SelectMany(s => s.Ids).Distinct().ToArray();
        var files = new VocFile?[ids.Length];
        DatasetFiles.ParallelInOrder(ids.Length, i =>
        {
            var xml = Path.Combine(annotations, ids[i].Replace('/', Path.DirectorySeparatorChar) + ".xml");
            files[i] = log.Guard(xml, () => new VocFile(ids[i], xml, ReadAnnotation(xml)), null);
        });

        var classesFile = Path.Combine(root, "classes.txt");
        var names = Path.Exists(classesFile) ? ReadClassNames(classesFile)
            : InferClasses(files.Where(f => f is not null).SelectMany(f => f!.Objects.Select(o => o.Name)));
        var labelOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < names.Length; k++) labelOf.TryAdd(names[k], k);

        var byId = new Dictionary<string, DetectionImage>(StringComparer.Ordinal);
        for (int i = 0; i < ids.Length; i++)
            if (files[i] is { } f && ToImage(f, i + 1, images, labelOf, classesFile, log) is { } image)
                byId[f.Id] = image;
        var result = splits.Select(s => new DetectionSplit(s.Name, s.Ids.Where(byId.ContainsKey).Select(id => byId[id]).ToArray())).ToArray();
        return new DetectionDataset(root, "voc", names, DetectionDataset.NumberedCategoryIds(names.Length), result);
    }

    static List<(string Name, string[] Ids)> ReadSplits(string root, string annotations, IssueLog log)
    {
        var main = Path.Combine(root, "ImageSets", "Main");
        var splits = new List<(string, string[])>();
        if (Directory.Exists(main))
            foreach (var file in Directory.GetFiles(main, "*.txt").Order(StringComparer.Ordinal))
            {
                var lines = InputFile.ReadAllLines(file);
                if (lines.Any(l => l.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length > 1)) continue; // per-class file
                var ids = new List<string>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                for (int n = 0; n < lines.Length; n++)
                {
                    var id = lines[n].Trim();
                    if (id.Length == 0) continue;
                    if (!Path.Exists(Path.Combine(annotations, id.Replace('/', Path.DirectorySeparatorChar) + ".xml")))
                        log.Report(IssueKinds.UnknownImage, file, $"line {n + 1}: no annotation file Annotations/{DatasetFiles.Escaped(id)}.xml");
                    else if (!seen.Add(id))
                        log.Report(IssueKinds.DuplicateId, file, $"line {n + 1}: id '{DatasetFiles.Escaped(id)}' is listed twice");
                    else
                        ids.Add(id);
                }
                splits.Add((Path.GetFileNameWithoutExtension(file), ids.ToArray()));
            }
        if (splits.Count == 0)
        {
            var all = Directory.EnumerateFiles(annotations, "*.xml", SearchOption.AllDirectories)
                .Select(f => DatasetFiles.Relative(annotations, f)[..^4]).Order(StringComparer.Ordinal).ToArray();
            if (all.Length == 0) throw new InputException(annotations, "no .xml annotation files");
            splits.Add(("all", all));
        }
        return splits;
    }

    /// <summary>Reads an annotation file (a regular file of at most <see cref="MaxAnnotationBytes"/>, <see cref="InputFile"/>).</summary>
    internal static VocAnnotation ReadAnnotation(string path) =>
        ParseAnnotation(InputFile.ReadAllBytes(path, MaxAnnotationBytes, "a VOC annotation"), path);

    /// <summary>
    /// Parses an annotation file's bytes (no DTD, no external entities); a malformed file or record is an
    /// <see cref="InputException"/> naming <paramref name="path"/>, the object and its line.
    /// </summary>
    internal static VocAnnotation ParseAnnotation(byte[] xml, string path)
    {
        XDocument doc;
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(xml, writable: false), new XmlReaderSettings
            {
                DtdProcessing = DtdProcessing.Prohibit,
                XmlResolver = null,
                IgnoreComments = true,
                IgnoreProcessingInstructions = true,
            });
            doc = XDocument.Load(reader, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            // the message may quote the offending character (a line break, say): keep it to one line
            var problem = string.Concat(e.Message.Split(" Line ")[0].TrimEnd('.').Select(c => char.IsControl(c) ? ' ' : c));
            throw new InputException(path, $"malformed XML at line {e.LineNumber}, column {e.LinePosition}: {problem}");
        }
        var root = doc.Root!;
        if (root.Name.LocalName != "annotation") throw new InputException(path, $"root element is <{root.Name.LocalName}>, not <annotation>");
        var size = root.Element("size");
        int width = size is null ? 0 : SizeValue(size, "width", path);
        int height = size is null ? 0 : SizeValue(size, "height", path);
        var objects = new List<VocObject>();
        int index = 0;
        foreach (var o in root.Elements("object"))
        {
            int line = ((IXmlLineInfo)o).LineNumber;
            string where = $"object {index} (line {line})";
            var name = o.Element("name")?.Value.Trim();
            if (string.IsNullOrEmpty(name)) throw new InputException(path, $"{where}: no <name>");
            var box = o.Element("bndbox") ?? throw new InputException(path, $"{where}: no <bndbox>");
            objects.Add(new VocObject(name, Coordinate(box, "xmin", path, where), Coordinate(box, "ymin", path, where),
                Coordinate(box, "xmax", path, where), Coordinate(box, "ymax", path, where),
                Flag(o, "difficult", path, where), Flag(o, "truncated", path, where), line));
            index++;
        }
        return new VocAnnotation(root.Element("filename")?.Value.Trim() is { Length: > 0 } f ? f : null, width, height, objects);
    }

    static int SizeValue(XElement size, string field, string path)
    {
        var e = size.Element(field);
        if (e is null) return 0;
        if (int.TryParse(e.Value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int v)) return v;
        throw new InputException(path, $"<size><{field}> is {DatasetFiles.Shown(e.Value.Trim())}, not a non-negative integer (line {((IXmlLineInfo)e).LineNumber})");
    }

    static double Coordinate(XElement box, string field, string path, string where)
    {
        var e = box.Element(field) ?? throw new InputException(path, $"{where}: <bndbox> has no <{field}>");
        if (!DatasetFiles.TryParseFinite(e.Value, out double v))
            throw new InputException(path, $"{where}: <{field}> is {DatasetFiles.Shown(e.Value.Trim())}, not a number");
        // the corner it gives (xmin - 1 or xmax, in float32 pixels) must be finite
        if (!float.IsFinite((float)(field is "xmin" or "ymin" ? v - 1 : v)))
            throw new InputException(path, $"{where}: <{field}> is {DatasetFiles.Shown(e.Value.Trim())}, {DatasetFiles.BeyondFloat}");
        return v;
    }

    static bool Flag(XElement o, string field, string path, string where)
    {
        var text = o.Element(field)?.Value.Trim();
        return text switch
        {
            null or "" or "0" => false,
            "1" => true,
            _ => throw new InputException(path, $"{where}: <{field}> is {DatasetFiles.Shown(text)}, not 0 or 1"),
        };
    }

    static DetectionImage? ToImage(VocFile f, long imageId, string imagesDir, Dictionary<string, int> labelOf, string classesFile, IssueLog log)
    {
        var path = ResolveImage(f, imagesDir);
        if (path is null)
        {
            log.Report(IssueKinds.MissingImage, f.Xml, $"image not found: no JPEGImages/{DatasetFiles.Escaped(f.FileName ?? f.Id + ".jpg")}{(f.FileName is null ? "" : $" nor JPEGImages/{f.Id}.*")}");
            return null;
        }
        int width = f.Annotation.Width, height = f.Annotation.Height;
        if ((width <= 0 || height <= 0) && !CocoDetectionFormat.TryReadSize(path, f.Xml, "<size>", log, out width, out height))
            return null;
        var objects = ToObjects(f.Annotation, width, height, labelOf, f.Xml, classesFile, log);
        return new DetectionImage(imageId, DatasetFiles.Relative(imagesDir, path), path, width, height, objects);
    }

    /// <summary>
    /// The objects of an annotation in continuous pixel coordinates (x0 = xmin - 1, x1 = xmax; finite, as the
    /// reader checks) with their class indices. An unknown class is an error; a box out of the
    /// <paramref name="width"/> x <paramref name="height"/> image or without area a warning (kept).
    /// </summary>
    internal static List<DetectionObject> ToObjects(VocAnnotation annotation, int width, int height, IReadOnlyDictionary<string, int> labelOf,
                                                    string xml, string classesFile, IssueLog log)
    {
        var objects = new List<DetectionObject>(annotation.Objects.Count);
        for (int k = 0; k < annotation.Objects.Count; k++)
        {
            var o = annotation.Objects[k];
            if (!labelOf.TryGetValue(o.Name, out int label))
            {
                log.Report(IssueKinds.UnknownClass, xml, $"object {k} (line {o.Line}): class {DatasetFiles.Shown(o.Name)} is not in {classesFile}");
                continue;
            }
            var obj = new DetectionObject(label, (float)(o.XMin - 1), (float)(o.YMin - 1), (float)o.XMax, (float)o.YMax)
            {
                Difficult = o.Difficult,
                Truncated = o.Truncated,
            };
            DatasetFiles.CheckBox(obj, width, height, xml, $"object {k} (line {o.Line})", log);
            objects.Add(obj);
        }
        return objects;
    }

    /// <summary>JPEGImages/&lt;filename&gt; when it exists, else JPEGImages/&lt;id&gt; with an image extension (labelling tools often keep the original file name in &lt;filename&gt;).</summary>
    static string? ResolveImage(VocFile f, string imagesDir)
    {
        if (f.FileName is not null)
        {
            var named = Path.Combine(imagesDir, f.FileName.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(named)) return named;
        }
        foreach (var ext in DatasetFiles.ImageExtensions)
        {
            var candidate = Path.Combine(imagesDir, f.Id.Replace('/', Path.DirectorySeparatorChar) + ext);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    internal static string[] ReadClassNames(string file)
    {
        var lines = InputFile.ReadAllLines(file).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int empty = lines.FindIndex(l => l.Length == 0);
        if (empty >= 0) throw new InputException(file, $"line {empty + 1} is empty (line 1 names class 0, line 2 class 1, ...)");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < lines.Count; i++)
            if (!seen.Add(lines[i])) throw new InputException(file, $"line {i + 1}: class {DatasetFiles.Shown(lines[i])} is listed twice");
        return lines.ToArray();
    }

    internal static string[] InferClasses(IEnumerable<string> used)
    {
        var set = used.ToHashSet(StringComparer.Ordinal);
        return set.All(n => VocClasses.Contains(n)) ? VocClasses.ToArray() : set.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// Writes Annotations/, JPEGImages/, ImageSets/Main/&lt;split&gt;.txt and classes.txt. The id of an image is its
    /// file name without extension. Two different source images with one file name cannot share JPEGImages/.
    /// </summary>
    public static void Write(DetectionDataset data, string outDir, ImageTransfer transfer)
    {
        var written = new Dictionary<string, string>(StringComparer.Ordinal); // file name -> source path
        var main = Path.Combine(outDir, "ImageSets", "Main");
        Directory.CreateDirectory(main);
        Directory.CreateDirectory(Path.Combine(outDir, "Annotations"));
        Directory.CreateDirectory(Path.Combine(outDir, "JPEGImages"));
        foreach (var split in data.Splits)
        {
            var ids = new List<string>();
            foreach (var image in split.Images)
            {
                var id = IdOf(image.FileName);
                ids.Add(id);
                if (written.TryGetValue(image.FileName, out var source))
                {
                    if (source != image.Path)
                        throw new InputException(image.Path, $"has the file name '{image.FileName}' of another image ({source}); VOC keeps all images in one JPEGImages/ folder");
                    continue;
                }
                written[image.FileName] = image.Path;
                var xml = Path.Combine(outDir, "Annotations", id.Replace('/', Path.DirectorySeparatorChar) + ".xml");
                Directory.CreateDirectory(Path.GetDirectoryName(xml)!);
                File.WriteAllText(xml, AnnotationXml(data.ClassNames, image));
                DatasetFiles.PlaceImage(image.Path, Path.Combine(outDir, "JPEGImages", image.FileName.Replace('/', Path.DirectorySeparatorChar)), transfer);
            }
            File.WriteAllText(Path.Combine(main, split.Name + ".txt"), string.Concat(ids.Select(i => i + "\n")));
        }
        File.WriteAllText(Path.Combine(outDir, "classes.txt"), string.Concat(data.ClassNames.Select(n => n + "\n")));
    }

    static string IdOf(string fileName)
    {
        int slash = fileName.LastIndexOf('/'), dot = fileName.LastIndexOf('.');
        return dot > slash + 1 ? fileName[..dot] : fileName;
    }

    /// <summary>The annotation file of <paramref name="image"/>: &lt;filename&gt;, &lt;size&gt;, and per object name, flags and 1-based box.</summary>
    internal static string AnnotationXml(IReadOnlyList<string> classNames, DetectionImage image)
    {
        CheckXmlText(image.FileName, "file name");
        foreach (var o in image.Objects)
            CheckXmlText(classNames[o.Label], "class name");
        var root = new XElement("annotation",
            new XElement("filename", image.FileName),
            new XElement("size", new XElement("width", image.Width), new XElement("height", image.Height), new XElement("depth", 3)));
        foreach (var o in image.Objects)
            root.Add(new XElement("object",
                new XElement("name", classNames[o.Label]),
                new XElement("truncated", o.Truncated ? 1 : 0),
                new XElement("difficult", o.Difficult ? 1 : 0),
                new XElement("bndbox",
                    new XElement("xmin", OneBased(o.X0)), new XElement("ymin", OneBased(o.Y0)),
                    new XElement("xmax", Plain(o.X1)), new XElement("ymax", Plain(o.Y1)))));
        return root.ToString() + "\n";
    }

    /// <summary>Refuses text that an XML file cannot hold (control characters other than tab and line breaks, lone surrogates).</summary>
    static void CheckXmlText(string text, string what)
    {
        try
        {
            XmlConvert.VerifyXmlChars(text);
        }
        catch (XmlException)
        {
            throw new InputException($"{what} {DatasetFiles.Shown(text)} has characters that an XML file cannot hold (VOC annotations are XML)");
        }
    }

    /// <summary>v + 1 as the shortest text that the reader's (float)(text - 1) maps back to v.</summary>
    internal static string OneBased(float v)
    {
        var text = DatasetFiles.FloatText((float)(v + 1.0));
        return (float)(DatasetFiles.ParseDouble(text) - 1) == v ? text : DatasetFiles.Format(v + 1.0, "R");
    }

    internal static string Plain(float v)
    {
        var text = DatasetFiles.FloatText(v);
        return (float)DatasetFiles.ParseDouble(text) == v ? text : DatasetFiles.Format(v, "R");
    }
}
