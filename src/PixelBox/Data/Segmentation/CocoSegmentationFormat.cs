using PixelBox.Coco;
using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>
/// COCO instances as semantic masks. Layouts (as the detection reader's):
/// <list type="bullet">
/// <item><c>annotations/instances_&lt;split&gt;.json</c>, or the one <c>annotations/instances_&lt;split&gt;*.json</c>
/// (COCO's instances_train2017.json for split train), with its images in <c>images/&lt;name&gt;/</c>, else
/// <c>&lt;name&gt;/</c>, else <c>images/</c> (name: the file's part after instances_, e.g. train2017);</item>
/// <item>else <c>instances.json</c> with <c>images/</c>, the split's image stems in <c>&lt;split&gt;.txt</c>.</item>
/// </list>
/// Each image's mask is rasterised from its annotations' polygons or RLE (as pycocotools): category ids in
/// ascending order are labels 1..K, 0 is background (no annotation), and annotations are painted in file order,
/// a later one over an earlier one where they overlap; a crowd annotation (iscrowd 1) paints 255 (ignored).
/// </summary>
public static class CocoSegmentationFormat
{
    const string Prefix = CocoDetectionFormat.SplitFilePrefix;

    /// <summary>The split names: instances_&lt;name&gt;.json names, else the .txt split files beside instances.json.</summary>
    public static IReadOnlyList<string> Splits(string root)
    {
        var annotations = Path.Combine(root, "annotations");
        if (Directory.Exists(annotations) && Directory.GetFiles(annotations, Prefix + "*.json") is { Length: > 0 } files)
            return files.Select(f => Path.GetFileNameWithoutExtension(f)[Prefix.Length..]).Order(StringComparer.Ordinal).ToArray();
        return MaskFolderDataset.Splits(root);
    }

    public static SegmentationSource Read(string root, string? split, IssueLog log)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, File.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var (file, imagesDir, stems) = Locate(root, split, log);
        var gt = CocoJson.ReadGroundTruth(file, CocoIouType.Segm);

        var categories = gt.Categories.Select(c => c.Id).Distinct().Order().ToArray();
        if (categories.Length > MaskFolderDataset.IgnoreLabel - 1)
            throw new InputException(file, $"{categories.Length} categories; semantic masks are 8-bit with 0 = background and 255 = ignore, so at most 254");
        var labelOf = new Dictionary<long, byte>();
        for (int k = 0; k < categories.Length; k++) labelOf[categories[k]] = (byte)(k + 1);
        var nameOf = new Dictionary<long, string>();
        foreach (var c in gt.Categories) nameOf.TryAdd(c.Id, c.Name);

        var imageIndex = new Dictionary<long, int>();
        for (int i = 0; i < gt.Images.Length; i++) imageIndex.TryAdd(gt.Images[i].Id, i);
        var annotationsOf = new List<int>?[gt.Images.Length];
        for (int a = 0; a < gt.Count; a++)
        {
            if (!imageIndex.TryGetValue(gt.ImageId[a], out int i)) continue; // on no image: never painted
            if (!gt.IsCrowd[a] && !labelOf.ContainsKey(gt.CategoryId[a]))
            {
                log.Report(IssueKinds.UnknownClass, file, $"annotations[{a}] (id {gt.AnnotationId[a]}): category_id {gt.CategoryId[a]} is not in 'categories'");
                continue;
            }
            (annotationsOf[i] ??= []).Add(a);
        }

        var entries = new List<SegmentationEntry>();
        var images = new Dictionary<string, (CocoImage Image, int Index)>(StringComparer.Ordinal);
        var found = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < gt.Images.Length; i++)
        {
            var im = gt.Images[i];
            string record = $"images[{i}] (id {im.Id})";
            if (im.FileName is not { Length: > 0 } fileName)
            {
                log.Report(IssueKinds.Malformed, file, $"{record}: no 'file_name' (a string naming the image file in {imagesDir})");
                continue;
            }
            var stem = Path.GetFileNameWithoutExtension(fileName);
            if (stems is not null && !stems.Contains(stem)) continue;
            found.Add(stem);
            if (im.Width <= 0 || im.Height <= 0)
            {
                log.Report(IssueKinds.Malformed, file, $"{record}: no 'width' and 'height' (the mask is rasterised at the image's size)");
                continue;
            }
            var path = Path.Combine(imagesDir, fileName.Replace('/', Path.DirectorySeparatorChar));
            if (!File.Exists(path))
            {
                log.Report(IssueKinds.MissingImage, path, $"image file not found ({record} of {file})");
                continue;
            }
            if (!images.TryAdd(path, (im, i)))
            {
                log.Report(IssueKinds.DuplicateId, file, $"{record}: file_name '{fileName}' is also images[{images[path].Index}]'s");
                continue;
            }
            entries.Add(new SegmentationEntry(stem, path, file));
        }
        if (stems is not null)
            foreach (var stem in stems.Where(s => !found.Contains(s)).Order(StringComparer.Ordinal))
                log.Report(IssueKinds.UnknownImage, Path.Combine(root, split + ".txt"), $"'{DatasetFiles.Escaped(stem)}' is not an image of {file}");

        var masks = new Rasteriser(gt, file, images, annotationsOf, labelOf);
        IReadOnlyList<string> names = ["background", .. categories.Select(c => nameOf[c])];
        IReadOnlyList<long?> ids = [null, .. categories.Select(c => (long?)c)];
        return new SegmentationSource("coco", root, entries, masks,
            LabelMapping.Classes(categories.Length + 1, $"is not a label of {file}"), new Lazy<IReadOnlyList<string>>(names), ids);
    }

    /// <summary>The annotation file, its image folder and (instances.json layout) the split's image stems.</summary>
    static (string File, string ImagesDir, HashSet<string>? Stems) Locate(string root, string? split, IssueLog log)
    {
        var annotations = Path.Combine(root, "annotations");
        var files = Directory.Exists(annotations) ? Directory.GetFiles(annotations, Prefix + "*.json").Order(StringComparer.Ordinal).ToArray() : [];
        if (files.Length > 0)
        {
            if (split is null)
                throw new InputException(annotations, "holds one instances_<split>.json per split: name the split");
            var exact = Path.Combine(annotations, Prefix + split + ".json");
            var starting = files.Where(f => Path.GetFileName(f).StartsWith(Prefix + split, StringComparison.Ordinal)).ToArray();
            var file = File.Exists(exact) ? exact
                : starting.Length == 1 ? starting[0]
                : throw new InputException(exact, starting.Length == 0
                    ? $"not found (the annotation files are {string.Join(", ", files.Select(Path.GetFileName))})"
                    : $"not found, and {starting.Length} files start with {Prefix}{split}: {string.Join(", ", starting.Select(Path.GetFileName))}");
            var name = Path.GetFileNameWithoutExtension(file)[Prefix.Length..];
            var dir = new[] { Path.Combine(root, "images", name), Path.Combine(root, name), Path.Combine(root, "images") }.FirstOrDefault(Directory.Exists)
                ?? throw new InputException(file, $"no image folder for split '{name}' (looked for images/{name}/, {name}/ and images/ in {root})");
            return (file, dir, null);
        }
        var single = Path.Combine(root, "instances.json");
        if (!File.Exists(single))
            throw new InputException(root, "no COCO annotations: expected annotations/instances_<split>.json files or instances.json with images/");
        var images = Path.Combine(root, "images");
        if (!Directory.Exists(images)) throw new InputException(images, "folder not found; instances.json's file names are relative to images/");
        if (split is null) return (single, images, null);
        var splitFile = Path.Combine(root, split + ".txt");
        if (!File.Exists(splitFile)) throw new InputException(splitFile, "split file not found");
        var stems = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in InputFile.ReadAllLines(splitFile))
            if (line.Trim() is { Length: > 0 } stem) stems.Add(stem);
        if (stems.Count == 0) log.Report(IssueKinds.Malformed, splitFile, "split file lists no ids");
        return (single, images, stems);
    }

    /// <summary>Paints an image's annotations into a label mask when the sample is read.</summary>
    sealed class Rasteriser(CocoGroundTruth gt, string file, Dictionary<string, (CocoImage Image, int Index)> images,
                            List<int>?[] annotationsOf, Dictionary<long, byte> labelOf) : MaskSource
    {
        public override string BrokenKind => IssueKinds.Malformed;

        public override (int Width, int Height) ReadSize(SegmentationEntry entry)
        {
            var image = images[entry.ImagePath].Image;
            return (image.Width, image.Height);
        }

        public override (string File, string Problem) SizeMismatch(SegmentationEntry entry, (int Width, int Height) mask, (int Width, int Height) image) =>
            (entry.ImagePath, $"image is {image.Width}x{image.Height} but {file} says {mask.Width}x{mask.Height}");

        public override IndexMask Read(SegmentationEntry entry)
        {
            var (image, index) = images[entry.ImagePath];
            int w = image.Width, h = image.Height;
            var pixels = new byte[(long)w * h];
            foreach (int a in annotationsOf[index] ?? [])
            {
                string record = $"annotations[{a}] (id {gt.AnnotationId[a]})";
                Rle rle;
                try
                {
                    rle = CocoMasks.ToRle(gt.Segmentation![a]!, h, w);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    throw new InputException(file, $"{record}: bad segmentation: {e.Message.Split(" (Parameter")[0]}");
                }
                if (rle.Height != h || rle.Width != w)
                    throw new InputException(file, $"{record}: RLE of {rle.Width}x{rle.Height} on images[{index}] of {w}x{h} (size is [height, width])");
                Paint(rle, gt.IsCrowd[a] ? MaskFolderDataset.IgnoreLabel : labelOf[gt.CategoryId[a]], pixels, w);
            }
            return new IndexMask(w, h, pixels);
        }

        /// <summary>Sets the RLE's pixels (column-major runs) to <paramref name="label"/> in the row-major mask.</summary>
        static void Paint(Rle rle, byte label, Span<byte> pixels, int width)
        {
            int h = rle.Height;
            long pos = 0;
            var counts = rle.Counts;
            for (int i = 0; i < counts.Length; i++)
            {
                long end = pos + counts[i];
                if ((i & 1) == 1)
                {
                    int x = (int)(pos / h), y = (int)(pos % h);
                    for (long p = pos; p < end; p++)
                    {
                        pixels[y * width + x] = label;
                        if (++y == h) (x, y) = (x + 1, 0);
                    }
                }
                pos = end;
            }
        }
    }
}
