namespace PixelBox.Data;

/// <summary>
/// A segmentation dataset layout: how to list its splits and read one (pairs, label mapping, class names).
/// <paramref name="SampleFolders"/> are the root's folders that hold samples (a run folder must not be inside them).
/// </summary>
public sealed record SegmentationFormat(
    string Name,
    string Layout,
    IReadOnlyList<string> SampleFolders,
    Func<string, IReadOnlyList<string>> Splits,
    Func<string, string?, IssueLog, SegmentationSource> Read)
{
    /// <summary>Opens one split strictly: the first problem throws its one-line <see cref="InputException"/>.</summary>
    public SegmentationDataset Open(string root, string? split, long cacheBytes = MaskFolderDataset.DefaultCacheBytes) =>
        SegmentationDataset.Open(Read(root, split, new IssueLog()), cacheBytes);
}

/// <summary>The segmentation formats <c>train seg --format</c> and <c>data check</c> read: masks, voc, cityscapes, coco.</summary>
public static class SegmentationFormats
{
    public static SegmentationFormat Masks { get; } = new("masks",
        "images/ + masks/ (index PNGs paired by name) + train.txt/val.txt (+ classes.txt)",
        ["images", "masks"], MaskFolderDataset.Splits, MaskFolderDataset.Read);

    public static SegmentationFormat Voc { get; } = new("voc",
        "VOC2012 folder: JPEGImages/ + SegmentationClass/ (palette PNGs, 255 = void) + ImageSets/Segmentation/<split>.txt; 21 classes",
        ["JPEGImages", "SegmentationClass"], VocSegmentationFormat.Splits, VocSegmentationFormat.Read);

    public static SegmentationFormat Cityscapes { get; } = new("cityscapes",
        "leftImg8bit/<split>/<city>/*_leftImg8bit.png + gtFine/<split>/<city>/*_gtFine_labelIds.png; label ids to the 19 train ids, others 255",
        ["leftImg8bit", "gtFine"], CityscapesFormat.Splits, CityscapesFormat.Read);

    public static SegmentationFormat Coco { get; } = new("coco",
        "annotations/instances_<split>.json + images/<split>/, or instances.json + images/ + <split>.txt; masks rasterised from polygons/RLE (categories 1..K by id, 0 background, crowd 255)",
        ["images"], CocoSegmentationFormat.Splits, CocoSegmentationFormat.Read);

    public static IReadOnlyList<SegmentationFormat> All { get; } = [Masks, Voc, Cityscapes, Coco];

    public static IReadOnlyList<string> Names { get; } = All.Select(f => f.Name).ToArray();

    public static SegmentationFormat Get(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new InputException($"unknown segmentation format '{name}' (known: {string.Join(", ", Names)})");
}
