using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>
/// The mask-folder layout: root/images/&lt;id&gt;.(png|jpg|jpeg|bmp|webp) paired by file stem with
/// root/masks/&lt;id&gt;.png (index masks, grayscale or palette), optional root/train.txt, root/val.txt
/// (ids one per line) and root/classes.txt (one class name per line, line k = label k).
/// </summary>
public static class MaskFolderDataset
{
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];

    /// <summary>Decoded samples are cached until they take this many bytes (image + mask); later ones are decoded on every access.</summary>
    public const long DefaultCacheBytes = 2L << 30;

    /// <summary>The conventional "ignore" label (VOC's void boundary); always accepted in masks.</summary>
    public const byte IgnoreLabel = 255;

    /// <summary>
    /// Opens root; <paramref name="split"/> "train"/"val"/... selects the ids listed in root/{split}.txt, null all pairs.
    /// Throws <see cref="InputException"/> naming the file for a missing folder or split file, an image without
    /// a mask or a mask without an image, two images with one id, an unknown id in the split file, an unreadable
    /// header or an image/mask size mismatch. Decoding errors (corrupt pixel data) and, when classes.txt
    /// exists, labels outside 0..classes-1 (255 = ignore is allowed) surface when the sample is read.
    /// Class names come from root/classes.txt when present; otherwise they are "class 0" .. "class K" where K is
    /// the largest label (other than 255) in all masks of the folder, found by decoding them once on first use.
    /// </summary>
    public static SegmentationDataset Open(string root, string? split = null, long cacheBytes = DefaultCacheBytes) =>
        SegmentationDataset.Open(Read(root, split, new IssueLog()), cacheBytes);

    /// <summary>The split files (train.txt, val.txt, test.txt) present in root, by split name.</summary>
    public static IReadOnlyList<string> Splits(string root) =>
        new[] { "train", "val", "test" }.Where(s => File.Exists(Path.Combine(root, s + ".txt"))).ToArray();

    /// <summary>
    /// Lists the pairs of <paramref name="split"/> (null: all), reporting problems to <paramref name="log"/>
    /// (strict: the first error throws; collecting: the pair is left out and listing goes on).
    /// </summary>
    public static SegmentationSource Read(string root, string? split, IssueLog log)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, File.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var imagesDir = Path.Combine(root, "images");
        var masksDir = Path.Combine(root, "masks");
        foreach (var dir in new[] { imagesDir, masksDir })
            if (!Directory.Exists(dir))
                throw new InputException(dir, "folder not found; a mask-folder dataset has images/ and masks/ with files paired by name");

        var images = SegmentationFiles.ByStem(imagesDir, ImageExtensions, log);
        var masks = SegmentationFiles.ByStem(masksDir, [".png"], log);
        foreach (var (stem, path) in images)
            if (!masks.ContainsKey(stem))
                log.Report(IssueKinds.MissingMask, path, $"image has no mask (expected {Path.Combine(masksDir, stem + ".png")})");
        foreach (var (stem, path) in masks)
            if (!images.ContainsKey(stem))
                log.Report(IssueKinds.MissingImage, path, $"mask has no image (expected {Path.Combine(imagesDir, stem)} with one of {string.Join(", ", ImageExtensions)})");
        var paired = images.Keys.Where(masks.ContainsKey).ToHashSet(StringComparer.Ordinal);
        if (images.Count == 0) throw new InputException(root, "no image/mask pairs found in images/ and masks/");

        var ids = split == null
            ? images.Keys.Where(paired.Contains).ToArray()
            : SegmentationFiles.ReadSplit(Path.Combine(root, split + ".txt"), paired, id => $"no image/mask pair with id '{id}'", log);
        var entries = ids.Select(id => new SegmentationEntry(id, images[id], masks[id])).ToArray();

        var classesFile = Path.Combine(root, "classes.txt");
        var names = Path.Exists(classesFile) ? log.Guard(classesFile, () => ReadClassNames(classesFile), (string[]?)null) : null;
        var mapping = names is null
            ? LabelMapping.Identity
            : LabelMapping.Classes(names.Length, $"is not one of the {names.Length} classes in classes.txt (labels 0..{names.Length - 1}, 255 = ignore)");
        var allMasks = masks.Values.ToArray();
        var classNames = names != null
            ? new Lazy<IReadOnlyList<string>>(names)
            : new Lazy<IReadOnlyList<string>>(() => NumberedClassNames(allMasks));
        return new SegmentationSource("masks", root, entries, MaskSource.Png, mapping, classNames);
    }

    /// <summary>"class 0" .. "class K", K the largest label other than 255 in the masks.</summary>
    static IReadOnlyList<string> NumberedClassNames(string[] maskPaths)
    {
        int max = 0;
        var gate = new object();
        Parallel.ForEach(maskPaths, path =>
        {
            var pixels = IndexMaskPng.Read(path).Pixels;
            int localMax = 0;
            foreach (var v in pixels)
                if (v != IgnoreLabel && v > localMax) localMax = v;
            lock (gate) max = Math.Max(max, localMax);
        });
        return NumberedClassNames(max + 1);
    }

    public static IReadOnlyList<string> NumberedClassNames(int count) => Enumerable.Range(0, count).Select(k => $"class {k}").ToArray();

    static string[] ReadClassNames(string file)
    {
        var lines = InputFile.ReadAllLines(file).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int empty = lines.FindIndex(l => l.Length == 0);
        if (empty >= 0) throw new InputException(file, $"line {empty + 1} is empty (line 1 names label 0, line 2 label 1, ...)");
        if (lines.Count == 0) throw new InputException(file, "no class names");
        if (lines.Count > IgnoreLabel) throw new InputException(file, $"{lines.Count} classes; masks are 8-bit and label 255 means ignore, so at most 255");
        return lines.ToArray();
    }
}
