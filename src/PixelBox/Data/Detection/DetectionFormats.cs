namespace PixelBox.Data;

/// <summary>What a format can hold beyond class names, image files, sizes, splits and boxes (which all hold).</summary>
public sealed record FormatCarries(bool ImageIds, bool CategoryIds, bool Crowd, bool Difficult, bool Truncated, bool Area, bool InvertedBoxes);

/// <summary>A detection dataset format: how to read it and, for convertible ones, write it.</summary>
public sealed record DetectionFormat(
    string Name,
    string Layout,
    Func<string, IssueLog, DetectionDataset> Read,
    Action<DetectionDataset, string, ImageTransfer>? Write,
    FormatCarries Carries);

/// <summary>The detection formats by name: coco, voc, yolo (read and written) and shapes (read).</summary>
public static class DetectionFormats
{
    public static DetectionFormat Coco { get; } = new("coco",
        "annotations/instances_<split>.json + images/<split>/ (or <split>/), or instances.json + images/ + train.txt/val.txt",
        (root, log) => CocoDetectionFormat.Read(root, log), CocoDetectionFormat.Write,
        new FormatCarries(ImageIds: true, CategoryIds: true, Crowd: true, Difficult: false, Truncated: false, Area: true, InvertedBoxes: false));

    public static DetectionFormat Voc { get; } = new("voc",
        "Annotations/<id>.xml + JPEGImages/ + ImageSets/Main/<split>.txt (+ classes.txt)",
        VocDetectionFormat.Read, VocDetectionFormat.Write,
        new FormatCarries(ImageIds: false, CategoryIds: false, Crowd: false, Difficult: true, Truncated: true, Area: false, InvertedBoxes: true));

    public static DetectionFormat Yolo { get; } = new("yolo",
        "data.yaml + images/<split>/ + labels/<split>/*.txt (class cx cy w h, normalised)",
        YoloDetectionFormat.Read, YoloDetectionFormat.Write,
        new FormatCarries(ImageIds: false, CategoryIds: false, Crowd: false, Difficult: false, Truncated: false, Area: false, InvertedBoxes: false));

    public static DetectionFormat Shapes { get; } = new("shapes",
        "pixelbox data shapes output: instances.json + images/ + train.txt/val.txt",
        ReadShapes, null, Coco.Carries);

    public static IReadOnlyList<DetectionFormat> All { get; } = [Coco, Voc, Yolo, Shapes];

    public static IEnumerable<string> Writable => All.Where(f => f.Write is not null).Select(f => f.Name);

    public static DetectionFormat Get(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new InputException($"unknown detection format '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})");

    /// <summary>Opens a dataset strictly: the first error throws its one-line <see cref="InputException"/>; warnings go to <paramref name="log"/>.</summary>
    public static DetectionDataset Open(string path, string format, IssueLog? log = null) =>
        Get(format).Read(path, log ?? new IssueLog());

    static DetectionDataset ReadShapes(string root, IssueLog log)
    {
        foreach (var file in new[] { "instances.json", "train.txt", "val.txt" })
            if (!Path.Exists(Path.Combine(root, file)))
                throw new InputException(Path.Combine(root, file), "not found; a Shapes dataset (pixelbox data shapes) has instances.json, images/, train.txt and val.txt");
        return CocoDetectionFormat.Read(root, log, "shapes");
    }
}
