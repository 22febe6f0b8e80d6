namespace PixelBox.Coco;

/// <summary>Which region a detection is compared by: its box or its mask.</summary>
public enum CocoIouType
{
    Bbox,
    Segm,
}

/// <summary>
/// An entry of the ground truth's <c>images</c> list (width/height are 0 when absent). <see cref="FileName"/> is
/// the <c>file_name</c> string as written (relative to the images folder), null when absent or not a string:
/// evaluation never needs it, datasets do.
/// </summary>
public readonly record struct CocoImage(long Id, int Width, int Height, string? FileName = null);

/// <summary>An entry of the ground truth's <c>categories</c> list.</summary>
public readonly record struct CocoCategory(long Id, string Name);

/// <summary>
/// A COCO ground-truth file: images, categories and annotations. Annotations are stored as
/// parallel arrays (one slot per annotation, in file order) because evaluation walks them by index.
/// </summary>
public sealed class CocoGroundTruth
{
    public required CocoImage[] Images { get; init; }
    public required CocoCategory[] Categories { get; init; }

    public required long[] AnnotationId { get; init; }
    public required long[] ImageId { get; init; }
    public required long[] CategoryId { get; init; }
    /// <summary>[x, y, w, h] per annotation, flattened (4 values each); NaN when the file has no bbox.</summary>
    public required double[] Box { get; init; }
    /// <summary>The <c>area</c> field: it, not the box or mask, decides the small/medium/large range.</summary>
    public required double[] Area { get; init; }
    public required bool[] IsCrowd { get; init; }
    /// <summary>Per annotation, or null when segmentations were not read.</summary>
    public CocoSegmentation?[]? Segmentation { get; init; }

    /// <summary>Segmentations as RLE masks (see <see cref="CocoMasks.Prepare"/>); computed on demand when null.</summary>
    public PixelBox.Masks.Rle?[]? Masks { get; internal set; }

    public int Count => AnnotationId.Length;
}

/// <summary>
/// A COCO results list in file order. As pycocotools' <c>loadRes</c> does, every result gets the id
/// (position + 1), and <see cref="Area"/> is the box area w*h when the first result has a bbox,
/// otherwise the mask area (and a missing bbox is the mask's bounding box).
/// </summary>
public sealed class CocoDetections
{
    public required long[] ImageId { get; init; }
    public required long[] CategoryId { get; init; }
    public required double[] Score { get; init; }
    /// <summary>[x, y, w, h] per detection, flattened.</summary>
    public required double[] Box { get; init; }
    public required double[] Area { get; init; }
    /// <summary>Per detection (null entries where a result has none), or null when no result has one.</summary>
    public CocoSegmentation?[]? Segmentation { get; init; }

    /// <summary>Segmentations as RLE masks (see <see cref="CocoMasks.Prepare"/>); computed on demand when null.</summary>
    public PixelBox.Masks.Rle?[]? Masks { get; internal set; }

    public int Count => ImageId.Length;

    /// <summary>The id pycocotools gives result i: its 1-based position in the file.</summary>
    public static long IdOf(int index) => index + 1L;

    public static CocoDetections Empty { get; } = new()
    {
        ImageId = [], CategoryId = [], Score = [], Box = [], Area = [],
    };
}

/// <summary>A segmentation as written in COCO JSON: polygons, uncompressed RLE or compressed RLE.</summary>
public abstract record CocoSegmentation;

/// <summary>One or more polygons [x1, y1, x2, y2, ...] forming one object.</summary>
public sealed record CocoPolygons(double[][] Polygons) : CocoSegmentation;

/// <summary><c>{"size": [h, w], "counts": [..]}</c>: column-major run lengths, the first counting zeros.</summary>
public sealed record CocoRleCounts(int Height, int Width, long[] Counts) : CocoSegmentation;

/// <summary><c>{"size": [h, w], "counts": "..."}</c>: the compressed string form.</summary>
public sealed record CocoRleString(int Height, int Width, string Counts) : CocoSegmentation;
