namespace PixelBox.Data;

/// <summary>
/// One annotated object: box corners in pixels of its image (continuous coordinates: the image spans
/// [0, Width] x [0, Height], pixel (i, j) covers [i, i+1] x [j, j+1]), its class index 0..K-1 and the flags
/// some formats carry. Values are kept as read, so a box may lie partly outside its image or be degenerate
/// (readers report both; <see cref="DetectionImageSet"/> clips and drops when it builds training samples).
/// </summary>
public sealed record DetectionObject(int Label, float X0, float Y0, float X1, float Y1)
{
    /// <summary>COCO's iscrowd (a region of many objects; COCO evaluation matches it to any number of detections).</summary>
    public bool IsCrowd { get; init; }

    /// <summary>Pascal VOC's difficult (left out of VOC evaluation).</summary>
    public bool Difficult { get; init; }

    /// <summary>Pascal VOC's truncated (the object extends beyond the box).</summary>
    public bool Truncated { get; init; }

    /// <summary>COCO's area field as read (it decides the small/medium/large range); NaN when the format has none, and writers then use the box area.</summary>
    public double Area { get; init; } = double.NaN;

    public float Width => X1 - X0;
    public float Height => Y1 - Y0;
}

/// <summary>
/// An image of a split: <paramref name="FileName"/> relative to the split's image folder ('/'-separated, as the
/// format writes it), <paramref name="Path"/> the file on disk, its size, and its objects in file order.
/// <see cref="Id"/> is COCO's image id; formats without ids number images 1..N in dataset order.
/// </summary>
public sealed record DetectionImage(long Id, string FileName, string Path, int Width, int Height, IReadOnlyList<DetectionObject> Objects);

/// <summary>A named split (train, val, train2017, ...) and its images in dataset order.</summary>
public sealed record DetectionSplit(string Name, IReadOnlyList<DetectionImage> Images);

/// <summary>
/// A detection dataset's annotations, as any of the formats holds them: class names (index k = label k), the
/// COCO category id of each class (so predictions can be written back with the original ids; k + 1 for formats
/// without ids) and the splits. Pixels are read by <see cref="DetectionImageSet"/>.
/// </summary>
public sealed class DetectionDataset
{
    public DetectionDataset(string root, string format, IReadOnlyList<string> classNames, IReadOnlyList<long> categoryIds,
                            IReadOnlyList<DetectionSplit> splits)
    {
        if (classNames.Count != categoryIds.Count)
            throw new ArgumentException($"{classNames.Count} class names but {categoryIds.Count} category ids");
        Root = root;
        Format = format;
        ClassNames = classNames;
        CategoryIds = categoryIds;
        Splits = splits;
    }

    public string Root { get; }
    public string Format { get; }
    public IReadOnlyList<string> ClassNames { get; }
    public IReadOnlyList<long> CategoryIds { get; }
    public IReadOnlyList<DetectionSplit> Splits { get; }

    public int NumClasses => ClassNames.Count;

    /// <summary>The split named <paramref name="name"/>; an <see cref="InputException"/> naming the root and the splits there are otherwise.</summary>
    public DetectionSplit Split(string name) =>
        Splits.FirstOrDefault(s => s.Name == name)
        ?? throw new InputException(Root, $"no split '{name}' in this {Format} dataset (splits: {string.Join(", ", Splits.Select(s => s.Name))})");

    /// <summary>The class index of a COCO category id, or -1.</summary>
    public int LabelOfCategory(long categoryId)
    {
        for (int k = 0; k < CategoryIds.Count; k++)
            if (CategoryIds[k] == categoryId) return k;
        return -1;
    }

    /// <summary>Default category ids for formats without them: class k has id k + 1 (COCO ids start at 1).</summary>
    public static long[] NumberedCategoryIds(int count) => Enumerable.Range(1, count).Select(k => (long)k).ToArray();
}
