namespace PixelBox.Coco;

/// <summary>An object-size range [Min, Max] (inclusive) on the ground truth's <c>area</c> field.</summary>
public readonly record struct CocoAreaRange(string Label, double Min, double Max);

/// <summary>
/// Evaluation settings, defaulting to pycocotools' detection parameters. Custom values are honoured
/// everywhere, including the summary (where pycocotools hard-codes maxDets=100).
/// </summary>
public sealed class CocoParams
{
    /// <summary>Most IoU thresholds one evaluation supports (match flags are kept as 32-bit masks).</summary>
    public const int MaxIouThresholds = 32;

    public CocoIouType IouType { get; init; } = CocoIouType.Bbox;

    /// <summary>.50:.05:.95, computed as numpy.linspace does (so 0.8999999999999999, not 0.9).</summary>
    public double[] IouThresholds { get; init; } = Linspace(0.5, 0.95, 10);

    /// <summary>0:.01:1 (101 points), as numpy.linspace computes them. Must be ascending.</summary>
    public double[] RecallThresholds { get; init; } = Linspace(0.0, 1.0, 101);

    /// <summary>Detections kept per image and category, smallest first after normalisation.</summary>
    public int[] MaxDetections { get; init; } = [1, 10, 100];

    /// <summary>The first range is the "all" range the overall numbers use.</summary>
    public CocoAreaRange[] AreaRanges { get; init; } = DefaultAreaRanges();

    /// <summary>False pools all categories of an image (class-agnostic proposals).</summary>
    public bool UseCategories { get; init; } = true;

    /// <summary>Images to evaluate; null = every image of the ground truth.</summary>
    public long[]? ImageIds { get; init; }

    /// <summary>Categories to evaluate; null = every category of the ground truth.</summary>
    public long[]? CategoryIds { get; init; }

    public static CocoAreaRange[] DefaultAreaRanges() =>
    [
        new("all", 0, 1e10), new("small", 0, 32 * 32), new("medium", 32 * 32, 96 * 96), new("large", 96 * 96, 1e10),
    ];

    /// <summary>numpy.linspace(start, stop, num): i * ((stop - start) / (num - 1)) + start, last = stop.</summary>
    public static double[] Linspace(double start, double stop, int num)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(num, 1);
        var y = new double[num];
        if (num == 1)
        {
            y[0] = start;
            return y;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++)
            y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }

    /// <summary>A checked copy with maxDets sorted ascending (pycocotools sorts them too).</summary>
    internal CocoParams Normalized()
    {
        if (IouThresholds.Length is 0 or > MaxIouThresholds)
            throw new ArgumentException($"between 1 and {MaxIouThresholds} IoU thresholds are supported");
        foreach (var t in IouThresholds)
            if (!(t >= 0 && t <= 1))
                throw new ArgumentException($"IoU threshold {t} is not in [0, 1]");
        if (RecallThresholds.Length == 0)
            throw new ArgumentException("at least one recall threshold is needed");
        for (int i = 0; i < RecallThresholds.Length; i++)
            if (double.IsNaN(RecallThresholds[i]) || (i > 0 && RecallThresholds[i] < RecallThresholds[i - 1]))
                throw new ArgumentException("recall thresholds must be ascending numbers");
        if (MaxDetections.Length == 0)
            throw new ArgumentException("at least one maxDets value is needed");
        foreach (var m in MaxDetections)
            if (m < 1)
                throw new ArgumentException($"maxDets value {m} must be at least 1");
        if (AreaRanges.Length == 0)
            throw new ArgumentException("at least one area range is needed");
        foreach (var a in AreaRanges)
            if (!(a.Min <= a.Max))
                throw new ArgumentException($"area range '{a.Label}' has min > max");
        var maxDets = (int[])MaxDetections.Clone();
        Array.Sort(maxDets);
        return new CocoParams
        {
            IouType = IouType,
            IouThresholds = (double[])IouThresholds.Clone(),
            RecallThresholds = (double[])RecallThresholds.Clone(),
            MaxDetections = maxDets,
            AreaRanges = (CocoAreaRange[])AreaRanges.Clone(),
            UseCategories = UseCategories,
            ImageIds = ImageIds is null ? null : (long[])ImageIds.Clone(),
            CategoryIds = CategoryIds is null ? null : (long[])CategoryIds.Clone(),
        };
    }
}
