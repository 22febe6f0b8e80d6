using System.Text;
using System.Text.Json;
using PixelBox.Coco;
using PixelBox.Imaging;

namespace PixelBox.Data;

/// <summary>
/// COCO instances JSON + image folders. Read layouts:
/// <list type="bullet">
/// <item>split files <c>annotations/instances_&lt;split&gt;.json</c> (COCO's own: instances_train2017.json) with the
/// images of each in <c>images/&lt;split&gt;/</c>, else <c>&lt;split&gt;/</c>, else <c>images/</c>;</item>
/// <item>one <c>instances.json</c> with <c>images/</c> (the Shapes layout): splits are <c>train.txt</c>, <c>val.txt</c>,
/// <c>test.txt</c> where present (image file stems, one per line), else a single split "all".</item>
/// </list>
/// Written: the first layout with <c>images/&lt;split&gt;/</c>.
/// <para>What COCO carries here: image id, file_name, width, height; category ids and names (class k is the k-th
/// entry of <c>categories</c>); per object the bbox [x, y, w, h] (x0 = x, x1 = x + w), category, iscrowd and area.
/// Not carried through: segmentations, supercategories, info/licenses (read past, never written), VOC's
/// difficult/truncated flags. Files are parsed by the evaluator's readers (so the same fields are required:
/// id, image_id, category_id, bbox, area, iscrowd).</para>
/// </summary>
public static class CocoDetectionFormat
{
    public const string SplitFilePrefix = "instances_";

    public static DetectionDataset Read(string root, IssueLog log, string format = "coco")
    {
        if (!Directory.Exists(root)) throw new InputException(root, Path.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var annotationsDir = Path.Combine(root, "annotations");
        var splitFiles = Directory.Exists(annotationsDir)
            ? Directory.GetFiles(annotationsDir, SplitFilePrefix + "*.json").Order(StringComparer.Ordinal).ToArray()
            : [];
        var single = Path.Combine(root, "instances.json");
        if (splitFiles.Length == 0 && !Path.Exists(single))
            throw new InputException(root, "no COCO annotations: expected annotations/instances_<split>.json files or instances.json with images/");

        var parts = new List<(string Name, string File, string ImagesDir, HashSet<string>? Stems)>();
        if (splitFiles.Length > 0)
        {
            foreach (var file in splitFiles)
            {
                var name = Path.GetFileNameWithoutExtension(file)[SplitFilePrefix.Length..];
                var dir = new[] { Path.Combine(root, "images", name), Path.Combine(root, name), Path.Combine(root, "images") }
                    .FirstOrDefault(Directory.Exists)
                    ?? throw new InputException(file, $"no image folder for split '{name}' (looked for images/{name}/, {name}/ and images/ in {root})");
                parts.Add((name, file, dir, null));
            }
        }
        else
        {
            var images = Path.Combine(root, "images");
            if (!Directory.Exists(images)) throw new InputException(images, "folder not found; instances.json's file names are relative to images/");
            var splits = new[] { "train", "val", "test" }.Where(s => Path.Exists(Path.Combine(root, s + ".txt"))).ToArray();
            if (splits.Length == 0) parts.Add(("all", single, images, null));
            foreach (var s in splits)
                parts.Add((s, single, images, ReadStems(Path.Combine(root, s + ".txt"))));
        }

        var truths = new Dictionary<string, CocoGroundTruth?>();
        foreach (var file in parts.Select(p => p.File).Distinct())
            truths[file] = log.Guard(file, () => CocoJson.ReadGroundTruth(file, CocoIouType.Bbox), null);

        string[]? names = null;
        long[]? ids = null;
        string? categoriesFile = null;
        foreach (var (file, gt) in truths)
        {
            if (gt is null) continue;
            var n = gt.Categories.Select(c => c.Name).ToArray();
            var i = gt.Categories.Select(c => c.Id).ToArray();
            if (names is null) (names, ids, categoriesFile) = (n, i, file);
            else if (!n.SequenceEqual(names) || !i.SequenceEqual(ids!))
                log.Report(IssueKinds.Malformed, file, $"'categories' differ from those of {categoriesFile}; every split must list the same categories in the same order");
        }
        names ??= [];
        ids ??= [];

        var splitsOut = new List<DetectionSplit>();
        foreach (var (name, file, imagesDir, stems) in parts)
        {
            var gt = truths[file];
            splitsOut.Add(new DetectionSplit(name, gt is null ? [] : Images(gt, file, imagesDir, stems, ids, log)));
            if (stems is not null)
            {
                var found = splitsOut[^1].Images.Select(i => Path.GetFileNameWithoutExtension(i.FileName)).ToHashSet(StringComparer.Ordinal);
                foreach (var stem in stems.Where(s => !found.Contains(s)))
                    log.Report(IssueKinds.UnknownImage, Path.Combine(root, name + ".txt"), $"'{DatasetFiles.Escaped(stem)}' is not an image of {file}");
            }
        }
        return new DetectionDataset(root, format, names, ids, splitsOut);
    }

    static HashSet<string> ReadStems(string file)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in InputFile.ReadAllLines(file))
            if (line.Trim() is { Length: > 0 } stem) set.Add(stem);
        return set;
    }

    static List<DetectionImage> Images(CocoGroundTruth gt, string file, string imagesDir, HashSet<string>? stems, long[] categoryIds, IssueLog log)
    {
        var labelOf = new Dictionary<long, int>();
        for (int k = 0; k < categoryIds.Length; k++) labelOf.TryAdd(categoryIds[k], k);
        var imageIndex = new Dictionary<long, int>(gt.Images.Length);
        for (int i = 0; i < gt.Images.Length; i++) imageIndex[gt.Images[i].Id] = i;

        var objects = new List<DetectionObject>[gt.Images.Length];
        int orphans = 0, firstOrphan = -1;
        for (int a = 0; a < gt.Count; a++)
        {
            string record = $"annotations[{a}] (id {gt.AnnotationId[a]})";
            if (!imageIndex.TryGetValue(gt.ImageId[a], out int image))
            {
                if (orphans++ == 0) firstOrphan = a;
                continue;
            }
            if (!labelOf.TryGetValue(gt.CategoryId[a], out int label))
            {
                log.Report(IssueKinds.UnknownClass, file, $"{record}: category_id {gt.CategoryId[a]} is not in 'categories'");
                continue;
            }
            double x = gt.Box[4 * a], y = gt.Box[4 * a + 1], w = gt.Box[4 * a + 2], h = gt.Box[4 * a + 3];
            (objects[image] ??= new()).Add(new DetectionObject(label, (float)x, (float)y, (float)(x + w), (float)(y + h))
            {
                IsCrowd = gt.IsCrowd[a],
                Area = gt.Area[a],
            });
        }
        if (orphans > 0)
            log.Report(IssueKinds.OrphanLabels, file, $"{orphans} annotation(s) refer to image ids not in 'images' (first: annotations[{firstOrphan}], image_id {gt.ImageId[firstOrphan]}); they are ignored");

        var result = new List<DetectionImage>();
        var seenNames = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < gt.Images.Length; i++)
        {
            var im = gt.Images[i];
            string record = $"images[{i}] (id {im.Id})";
            if (im.FileName is not { Length: > 0 } fileName)
            {
                log.Report(IssueKinds.Malformed, file, $"{record}: no 'file_name' (a string naming the image file in {imagesDir})");
                continue;
            }
            if (stems is not null && !stems.Contains(Path.GetFileNameWithoutExtension(fileName))) continue;
            if (!seenNames.TryAdd(fileName, i))
            {
                log.Report(IssueKinds.DuplicateId, file, $"{record}: file_name '{fileName}' is also images[{seenNames[fileName]}]'s");
                continue;
            }
            var path = Path.Combine(imagesDir, fileName.Replace('/', Path.DirectorySeparatorChar));
            var (width, height) = (im.Width, im.Height);
            if (width <= 0 || height <= 0)
            {
                if (!TryReadSize(path, file, record, log, out width, out height)) continue;
            }
            else if (!File.Exists(path))
            {
                log.Report(IssueKinds.MissingImage, path, $"image file not found ({record} of {file})");
                continue;
            }
            var list = objects[i] ?? [];
            for (int k = 0; k < list.Count; k++)
                DatasetFiles.CheckBox(list[k], width, height, file, $"{record} '{fileName}', object {k}", log);
            result.Add(new DetectionImage(im.Id, fileName, path, width, height, list));
        }
        return result;
    }

    internal static bool TryReadSize(string path, string file, string record, IssueLog log, out int width, out int height)
    {
        (width, height) = (0, 0);
        if (!File.Exists(path))
        {
            log.Report(IssueKinds.MissingImage, path, $"image file not found ({record} of {file})");
            return false;
        }
        try
        {
            (width, height) = RgbImageFile.ReadSize(path);
            return true;
        }
        catch (InputException e)
        {
            log.Report(IssueKinds.BrokenImage, path, e.Message.StartsWith(path + ": ", StringComparison.Ordinal) ? e.Message[(path.Length + 2)..] : e.Message);
            return false;
        }
    }

    /// <summary>
    /// Writes <c>annotations/instances_&lt;split&gt;.json</c> and <c>images/&lt;split&gt;/</c> under <paramref name="outDir"/>.
    /// Image ids are the dataset's; annotation ids 1..M per file in image order; category ids the dataset's. A box
    /// is written as the shortest [x, y, w, h] that reads back to the same float corners; area is the object's
    /// area when it has one, else w * h.
    /// </summary>
    public static void Write(DetectionDataset data, string outDir, ImageTransfer transfer)
    {
        foreach (var split in data.Splits)
        {
            var ids = new HashSet<long>();
            foreach (var image in split.Images)
                if (!ids.Add(image.Id))
                    throw new InputException(data.Root, $"split '{split.Name}': two images with id {image.Id}; COCO needs unique image ids");
            var json = Path.Combine(outDir, "annotations", SplitFilePrefix + split.Name + ".json");
            Directory.CreateDirectory(Path.GetDirectoryName(json)!);
            using (var stream = File.Create(json))
                WriteJson(stream, data, split);
            foreach (var image in split.Images)
                DatasetFiles.PlaceImage(image.Path, Path.Combine(outDir, "images", split.Name, image.FileName.Replace('/', Path.DirectorySeparatorChar)), transfer);
        }
    }

    static void WriteJson(Stream stream, DetectionDataset data, DetectionSplit split)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteStartArray("images");
        foreach (var image in split.Images)
        {
            w.WriteStartObject();
            w.WriteNumber("id", image.Id);
            w.WriteString("file_name", image.FileName);
            w.WriteNumber("width", image.Width);
            w.WriteNumber("height", image.Height);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("annotations");
        long annotationId = 0;
        foreach (var image in split.Images)
            foreach (var o in image.Objects)
            {
                var (x, width) = Interval(o.X0, o.X1);
                var (y, height) = Interval(o.Y0, o.Y1);
                w.WriteStartObject();
                w.WriteNumber("id", ++annotationId);
                w.WriteNumber("image_id", image.Id);
                w.WriteNumber("category_id", data.CategoryIds[o.Label]);
                w.WriteStartArray("bbox");
                w.WriteRawValue(x);
                w.WriteRawValue(y);
                w.WriteRawValue(width);
                w.WriteRawValue(height);
                w.WriteEndArray();
                w.WriteNumber("area", double.IsNaN(o.Area) ? DatasetFiles.ParseDouble(width) * DatasetFiles.ParseDouble(height) : o.Area);
                w.WriteNumber("iscrowd", o.IsCrowd ? 1 : 0);
                w.WriteEndObject();
            }
        w.WriteEndArray();
        w.WriteStartArray("categories");
        for (int k = 0; k < data.NumClasses; k++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", data.CategoryIds[k]);
            w.WriteString("name", data.ClassNames[k]);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Text for x and w such that the reader's (float)x and (float)(x + w) are exactly <paramref name="lo"/> and
    /// <paramref name="hi"/>: the shortest float text when it does, the double text otherwise (which always does:
    /// x + w is then within a double's rounding of the float <paramref name="hi"/>).
    /// </summary>
    internal static (string Start, string Length) Interval(float lo, float hi)
    {
        string start = DatasetFiles.FloatText(lo);
        double s = DatasetFiles.ParseDouble(start);
        if ((float)s != lo) (start, s) = (DatasetFiles.Format(lo, "R"), lo);
        string length = DatasetFiles.FloatText((float)(hi - s));
        if ((float)(s + DatasetFiles.ParseDouble(length)) != hi) length = DatasetFiles.Format(hi - s, "R");
        return (start, length);
    }
}
