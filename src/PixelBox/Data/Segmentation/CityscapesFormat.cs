namespace PixelBox.Data;

/// <summary>
/// Cityscapes fine annotations: root/leftImg8bit/{split}/{city}/{city}_{seq}_{frame}_leftImg8bit.png with
/// root/gtFine/{split}/{city}/{city}_{seq}_{frame}_gtFine_labelIds.png. The label ids (0..33) become the 19
/// train ids of cityscapesScripts' labels.py; every other label (unlabeled, ego vehicle, parking, ...) is 255
/// (ignored). The splits are the folders of leftImg8bit/ (train, val, test).
/// </summary>
public static class CityscapesFormat
{
    const string ImageSuffix = "_leftImg8bit";
    const string MaskSuffix = "_gtFine_labelIds";

    /// <summary>cityscapesScripts labels.py: (name, id, trainId) of every label id, 255 = not trained on (its license plate, id -1, never appears in a labelIds PNG).</summary>
    public static IReadOnlyList<(string Name, byte Id, byte TrainId)> Labels { get; } =
    [
        ("unlabeled", 0, 255), ("ego vehicle", 1, 255), ("rectification border", 2, 255), ("out of roi", 3, 255), ("static", 4, 255),
        ("dynamic", 5, 255), ("ground", 6, 255), ("road", 7, 0), ("sidewalk", 8, 1), ("parking", 9, 255), ("rail track", 10, 255),
        ("building", 11, 2), ("wall", 12, 3), ("fence", 13, 4), ("guard rail", 14, 255), ("bridge", 15, 255), ("tunnel", 16, 255),
        ("pole", 17, 5), ("polegroup", 18, 255), ("traffic light", 19, 6), ("traffic sign", 20, 7), ("vegetation", 21, 8),
        ("terrain", 22, 9), ("sky", 23, 10), ("person", 24, 11), ("rider", 25, 12), ("car", 26, 13), ("truck", 27, 14),
        ("bus", 28, 15), ("caravan", 29, 255), ("trailer", 30, 255), ("train", 31, 16), ("motorcycle", 32, 17), ("bicycle", 33, 18),
    ];

    /// <summary>The 19 train classes: train id k = name k.</summary>
    public static IReadOnlyList<string> ClassNames { get; } = Labels.Where(l => l.TrainId != 255).OrderBy(l => l.TrainId).Select(l => l.Name).ToArray();

    /// <summary>The label id of each train class.</summary>
    public static IReadOnlyList<long?> LabelIds { get; } = Labels.Where(l => l.TrainId != 255).OrderBy(l => l.TrainId).Select(l => (long?)l.Id).ToArray();

    public static LabelMapping Mapping { get; } = LabelMapping.Table(Labels.Select(l => (l.Id, l.TrainId)),
        "is not a Cityscapes label id (0..33; *_gtFine_labelIds.png holds label ids, not train ids)");

    /// <summary>The split names: the folders of leftImg8bit/.</summary>
    public static IReadOnlyList<string> Splits(string root)
    {
        var dir = Path.Combine(root, "leftImg8bit");
        return Directory.Exists(dir) ? Directory.GetDirectories(dir).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray() : [];
    }

    /// <summary>The pairs of one split (a folder: Cityscapes has no split files), ordered by id.</summary>
    public static SegmentationSource Read(string root, string? split, IssueLog log)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, File.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        if (split is null) throw new InputException(Path.Combine(root, "leftImg8bit"), "no split folders (train, val, test)");
        var imagesDir = Path.Combine(root, "leftImg8bit", split);
        var masksDir = Path.Combine(root, "gtFine", split);
        foreach (var dir in new[] { imagesDir, masksDir })
            if (!Directory.Exists(dir))
                throw new InputException(dir, $"folder not found; a Cityscapes root has leftImg8bit/{split}/<city>/ and gtFine/{split}/<city>/");
        var images = ByCity(imagesDir, ImageSuffix, log);
        var masks = ByCity(masksDir, MaskSuffix, log);
        foreach (var (id, path) in images.Where(i => !masks.ContainsKey(i.Key)))
            log.Report(IssueKinds.MissingMask, path, $"image has no label ids (expected {MaskPathOf(masksDir, id)})");
        foreach (var (id, path) in masks.Where(m => !images.ContainsKey(m.Key)))
            log.Report(IssueKinds.MissingImage, path, $"label ids have no image (expected {Path.Combine(imagesDir, CityOf(id), id + ImageSuffix + ".png")})");
        if (images.Count == 0) throw new InputException(imagesDir, $"no *{ImageSuffix}.png images in its city folders");
        var entries = images.Keys.Where(masks.ContainsKey).Select(id => new SegmentationEntry(id, images[id], masks[id])).ToArray();
        return new SegmentationSource("cityscapes", root, entries, MaskSource.Png, Mapping, new Lazy<IReadOnlyList<string>>(ClassNames), LabelIds);
    }

    static string CityOf(string id) => id.Split('_')[0];

    static string MaskPathOf(string masksDir, string id) => Path.Combine(masksDir, CityOf(id), id + MaskSuffix + ".png");

    /// <summary>The files of every city folder ending in suffix.png, by id ({city}_{seq}_{frame}).</summary>
    static SortedDictionary<string, string> ByCity(string dir, string suffix, IssueLog log)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var city in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
            foreach (var (id, path) in SegmentationFiles.ByStem(city, [".png"], log, suffix))
                if (!all.TryAdd(id, path))
                    log.Report(IssueKinds.DuplicateId, path, $"the id '{id}' is also {all[id]}");
        return all;
    }
}
