namespace PixelBox.Data;

/// <summary>
/// PASCAL VOC 2012 segmentation: root is <c>VOCdevkit/VOC2012</c> (JPEGImages/, SegmentationClass/ palette PNGs,
/// ImageSets/Segmentation/{train,val,trainval}.txt). Palette index k is class k (0 background, 1..20 VOC's
/// classes), 255 the void boundary (ignored); the splits are the split files.
/// </summary>
public static class VocSegmentationFormat
{
    public static IReadOnlyList<string> ClassNames { get; } = ["background", .. VocDetectionFormat.VocClasses];

    public static LabelMapping Mapping { get; } =
        LabelMapping.Classes(21, "is not one of VOC's 21 classes (0 background, 1..20 aeroplane..tvmonitor; 255 = void)");

    static string SplitsDir(string root) => Path.Combine(root, "ImageSets", "Segmentation");

    /// <summary>Whether root holds VOC segmentation data (a SegmentationClass/ folder).</summary>
    public static bool IsPresent(string root) => Directory.Exists(Path.Combine(root, "SegmentationClass"));

    /// <summary>The split names: the .txt files of ImageSets/Segmentation/.</summary>
    public static IReadOnlyList<string> Splits(string root) => Directory.Exists(SplitsDir(root))
        ? SegmentationFiles.List(SplitsDir(root)).Where(f => f.EndsWith(".txt", StringComparison.Ordinal)).Select(f => Path.GetFileNameWithoutExtension(f)).ToArray()
        : [];

    /// <summary>The samples of ImageSets/Segmentation/{split}.txt; null: every mask of SegmentationClass/.</summary>
    public static SegmentationSource Read(string root, string? split, IssueLog log)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, File.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var imagesDir = Path.Combine(root, "JPEGImages");
        var masksDir = Path.Combine(root, "SegmentationClass");
        foreach (var dir in new[] { imagesDir, masksDir })
            if (!Directory.Exists(dir))
                throw new InputException(dir, "folder not found; a VOC segmentation dataset (VOCdevkit/VOC2012) has JPEGImages/, SegmentationClass/ and ImageSets/Segmentation/");
        var images = SegmentationFiles.ByStem(imagesDir, MaskFolderDataset.ImageExtensions, log);
        var masks = SegmentationFiles.ByStem(masksDir, [".png"], log);

        string[] ids;
        if (split is null)
        {
            foreach (var (stem, path) in masks.Where(m => !images.ContainsKey(m.Key)))
                log.Report(IssueKinds.MissingImage, path, $"mask has no image (expected {Path.Combine(imagesDir, stem)}.jpg)");
            ids = masks.Keys.Where(images.ContainsKey).ToArray();
            if (masks.Count == 0) throw new InputException(masksDir, "no .png masks");
        }
        else
        {
            var file = Path.Combine(SplitsDir(root), split + ".txt");
            var known = images.Keys.Concat(masks.Keys).ToHashSet(StringComparer.Ordinal);
            var listed = SegmentationFiles.ReadSplit(file, known, id => $"no image JPEGImages/{id}.jpg nor mask SegmentationClass/{id}.png", log);
            var paired = new List<string>();
            for (int n = 0; n < listed.Length; n++)
            {
                var id = listed[n];
                if (!masks.ContainsKey(id))
                    log.Report(IssueKinds.MissingMask, Path.Combine(masksDir, id + ".png"), $"mask not found (its id is in {file}; the image is {images[id]})");
                else if (!images.ContainsKey(id))
                    log.Report(IssueKinds.MissingImage, Path.Combine(imagesDir, id + ".jpg"), $"image not found (its id is in {file}; the mask is {masks[id]})");
                else
                    paired.Add(id);
            }
            ids = paired.ToArray();
        }
        var entries = ids.Select(id => new SegmentationEntry(id, images[id], masks[id])).ToArray();
        return new SegmentationSource("voc", root, entries, MaskSource.Png, Mapping, new Lazy<IReadOnlyList<string>>(ClassNames));
    }
}
