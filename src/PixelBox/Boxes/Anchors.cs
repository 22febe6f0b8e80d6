using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>A feature map's spatial size (rows, columns).</summary>
public readonly record struct GridSize(long Height, long Width);

/// <summary>
/// torchvision's AnchorGenerator (Faster R-CNN, RetinaNet, FCOS): per feature map, sizes x aspect ratios
/// anchors centred on every cell, stride = image size // feature size (integer division), as there:
/// <code>
///   h_ratio = sqrt(ar), w_ratio = 1 / h_ratio       (ar = height / width), float32
///   cell anchor = round((-w, -h, w, h) / 2) with w = w_ratio * size, h = h_ratio * size
///   anchor at cell (i, j) = cell anchor + (j * stride_w, i * stride_h, j * stride_w, i * stride_h)
/// </code>
/// Order: level, then cell row-major, then anchor (aspect-ratio-major, size-minor).
/// </summary>
public sealed class AnchorGenerator
{
    readonly double[][] _sizes;
    readonly double[][] _aspectRatios;

    /// <param name="sizes">Per feature map, the anchor sizes (sqrt of the area) in pixels.</param>
    /// <param name="aspectRatios">Per feature map, the height / width ratios.</param>
    public AnchorGenerator(IReadOnlyList<IReadOnlyList<double>> sizes, IReadOnlyList<IReadOnlyList<double>> aspectRatios)
    {
        if (sizes.Count != aspectRatios.Count)
            throw new ArgumentException($"one list of sizes ({sizes.Count}) and aspect ratios ({aspectRatios.Count}) per feature map");
        _sizes = sizes.Select(s => s.ToArray()).ToArray();
        _aspectRatios = aspectRatios.Select(a => a.ToArray()).ToArray();
    }

    /// <summary>Anchors per cell on each feature map: sizes x aspect ratios.</summary>
    public int[] NumAnchorsPerLocation() => _sizes.Select((s, k) => s.Length * _aspectRatios[k].Length).ToArray();

    /// <summary>The zero-centred anchors of feature map <paramref name="level"/>, [A, 4] float32.</summary>
    public Tensor CellAnchors(int level)
    {
        var scales = tensor(_sizes[level], ScalarType.Float32);
        var ratios = tensor(_aspectRatios[level], ScalarType.Float32);
        var hRatios = sqrt(ratios);
        var wRatios = 1 / hRatios;
        var ws = (wRatios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
        var hs = (hRatios.unsqueeze(1) * scales.unsqueeze(0)).view(-1);
        return (stack([-ws, -hs, ws, hs], 1) / 2).round();
    }

    /// <summary>All anchors for an image of <paramref name="imageHeight"/> x <paramref name="imageWidth"/> with these feature maps, [N, 4] xyxy pixels.</summary>
    public Tensor Generate(long imageHeight, long imageWidth, IReadOnlyList<GridSize> featureMaps)
    {
        if (featureMaps.Count != _sizes.Length)
            throw new ArgumentException($"{featureMaps.Count} feature maps for anchors defined on {_sizes.Length}");
        using var scope = NewDisposeScope();
        var levels = new List<Tensor>();
        for (int k = 0; k < featureMaps.Count; k++)
        {
            var (gh, gw) = (featureMaps[k].Height, featureMaps[k].Width);
            long strideH = imageHeight / gh, strideW = imageWidth / gw;
            var shiftsX = arange(0, gw, ScalarType.Int32) * strideW;
            var shiftsY = arange(0, gh, ScalarType.Int32) * strideH;
            var grid = meshgrid([shiftsY, shiftsX], indexing: "ij");
            var sy = grid[0].reshape(-1);
            var sx = grid[1].reshape(-1);
            var shifts = stack([sx, sy, sx, sy], 1);
            levels.Add((shifts.view(-1, 1, 4) + CellAnchors(k).view(1, -1, 4)).reshape(-1, 4));
        }
        return cat(levels, 0).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's DefaultBoxGenerator (SSD's default boxes, Liu et al. 2016 p. 6), operation for operation:
/// <code>
///   scales (unless given): s_k = min_ratio + (max_ratio - min_ratio) k / (m - 1), k = 0..m-1, then 1.0
///   per map k: (s_k, s_k), (s'_k, s'_k) with s'_k = sqrt(s_k s_{k+1}), and for each aspect ratio a:
///              (s_k sqrt(a), s_k / sqrt(a)) and its transpose; clamped to [0, 1] when clip
///   centres: ((j + 0.5) / f_x, (i + 0.5) / f_y), f = image size / step (or the feature map size)
///   boxes: (cx - w/2, cy - h/2, cx + w/2, cy + h/2) * (image width, image height)
/// </code>
/// SSD300: aspect ratios [[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales 0.07, 0.15, 0.33, 0.51, 0.69,
/// 0.87, 1.05, steps 8, 16, 32, 64, 100, 300 on maps 38, 19, 10, 5, 3, 1: 8,732 boxes.
/// Order: map, then cell row-major, then box.
/// </summary>
public sealed class DefaultBoxGenerator
{
    readonly double[][] _aspectRatios;
    readonly int[]? _steps;
    readonly double[][] _whPairs;

    public DefaultBoxGenerator(IReadOnlyList<IReadOnlyList<double>> aspectRatios, double minRatio = 0.15, double maxRatio = 0.9,
        IReadOnlyList<double>? scales = null, IReadOnlyList<int>? steps = null, bool clip = true)
    {
        if (steps is not null && steps.Count != aspectRatios.Count)
            throw new ArgumentException("aspect_ratios and steps should have the same length");
        _aspectRatios = aspectRatios.Select(a => a.ToArray()).ToArray();
        _steps = steps?.ToArray();
        Clip = clip;
        int m = aspectRatios.Count;
        if (scales is not null)
            Scales = scales.ToArray();
        else if (m > 1)
        {
            double range = maxRatio - minRatio;
            Scales = [.. Enumerable.Range(0, m).Select(k => minRatio + range * k / (m - 1.0)), 1.0];
        }
        else
            Scales = [minRatio, maxRatio];
        _whPairs = new double[m][];
        for (int k = 0; k < m; k++)
        {
            double sk = Scales[k], sPrime = Math.Sqrt(Scales[k] * Scales[k + 1]);
            var pairs = new List<double> { sk, sk, sPrime, sPrime };
            foreach (var ar in _aspectRatios[k])
            {
                double sq = Math.Sqrt(ar);
                double w = Scales[k] * sq, h = Scales[k] / sq;
                pairs.AddRange([w, h, h, w]);
            }
            _whPairs[k] = pairs.ToArray();
        }
    }

    /// <summary>The SSD300 configuration of torchvision's ssd300_vgg16.</summary>
    public static DefaultBoxGenerator Ssd300() => new(
        [[2], [2, 3], [2, 3], [2, 3], [2], [2]],
        scales: [0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05],
        steps: [8, 16, 32, 64, 100, 300]);

    /// <summary>The SSDlite320 configuration of torchvision's ssdlite320_mobilenet_v3_large.</summary>
    public static DefaultBoxGenerator SsdLite320() => new([[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]], minRatio: 0.2, maxRatio: 0.95);

    public double[] Scales { get; }
    public bool Clip { get; }

    /// <summary>Boxes per cell on each map: 2 + 2 * aspect ratios.</summary>
    public int[] NumAnchorsPerLocation() => _aspectRatios.Select(a => 2 + 2 * a.Length).ToArray();

    /// <summary>The default boxes as (cx, cy, w, h) relative to the image, [N, 4] float32.</summary>
    public Tensor RelativeCxcywh(long imageHeight, long imageWidth, IReadOnlyList<GridSize> featureMaps)
    {
        if (featureMaps.Count != _whPairs.Length)
            throw new ArgumentException($"{featureMaps.Count} feature maps for default boxes defined on {_whPairs.Length}");
        using var scope = NewDisposeScope();
        var maps = new List<Tensor>();
        for (int k = 0; k < featureMaps.Count; k++)
        {
            var (fh, fw) = (featureMaps[k].Height, featureMaps[k].Width);
            double xf, yf;
            if (_steps is not null)
                (xf, yf) = (imageWidth / (double)_steps[k], imageHeight / (double)_steps[k]);
            else
                (xf, yf) = (fw, fh);
            var shiftsX = ((arange(0, fw, ScalarType.Int64) + 0.5) / xf).to_type(ScalarType.Float32);
            var shiftsY = ((arange(0, fh, ScalarType.Int64) + 0.5) / yf).to_type(ScalarType.Float32);
            var grid = meshgrid([shiftsY, shiftsX], indexing: "ij");
            var sy = grid[0].reshape(-1);
            var sx = grid[1].reshape(-1);
            int pairs = _whPairs[k].Length / 2;
            var centres = stack(Enumerable.Range(0, pairs).SelectMany(_ => new[] { sx, sy }).ToArray(), -1).reshape(-1, 2);
            var wh = tensor(_whPairs[k], ScalarType.Float32).reshape(-1, 2);
            if (Clip)
                wh = wh.clamp(0, 1);
            maps.Add(cat([centres, wh.repeat(fh * fw, 1)], 1));
        }
        return cat(maps, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Generate"/> in plain C# (no libtorch, for decoders of raw outputs from any runtime): the same
    /// float32 operations in the same order, so the values are bit-identical, [N * 4] xyxy pixels.
    /// </summary>
    public float[] GenerateValues(long imageHeight, long imageWidth, IReadOnlyList<GridSize> featureMaps)
    {
        if (featureMaps.Count != _whPairs.Length)
            throw new ArgumentException($"{featureMaps.Count} feature maps for default boxes defined on {_whPairs.Length}");
        long total = 0;
        for (int k = 0; k < featureMaps.Count; k++)
            total += featureMaps[k].Height * featureMaps[k].Width * (_whPairs[k].Length / 2);
        var boxes = new float[total * 4];
        float width = imageWidth, height = imageHeight;
        long o = 0;
        for (int k = 0; k < featureMaps.Count; k++)
        {
            var (fh, fw) = (featureMaps[k].Height, featureMaps[k].Width);
            float xf, yf;
            if (_steps is not null)
                (xf, yf) = ((float)(imageWidth / (double)_steps[k]), (float)(imageHeight / (double)_steps[k]));
            else
                (xf, yf) = (fw, fh);
            int pairs = _whPairs[k].Length / 2;
            var (halfW, halfH) = (new float[pairs], new float[pairs]);
            for (int p = 0; p < pairs; p++)
            {
                float w = (float)_whPairs[k][2 * p], h = (float)_whPairs[k][2 * p + 1];
                if (Clip)
                    (w, h) = (Math.Clamp(w, 0f, 1f), Math.Clamp(h, 0f, 1f));
                (halfW[p], halfH[p]) = (0.5f * w, 0.5f * h);
            }
            for (long i = 0; i < fh; i++)
            {
                float cy = (float)(i + 0.5) / yf;
                for (long j = 0; j < fw; j++)
                {
                    float cx = (float)(j + 0.5) / xf;
                    for (int p = 0; p < pairs; p++, o += 4)
                    {
                        boxes[o] = (cx - halfW[p]) * width;
                        boxes[o + 1] = (cy - halfH[p]) * height;
                        boxes[o + 2] = (cx + halfW[p]) * width;
                        boxes[o + 3] = (cy + halfH[p]) * height;
                    }
                }
            }
        }
        return boxes;
    }

    /// <summary>The default boxes in pixels, xyxy, [N, 4] float32 (what SSD matches and decodes against).</summary>
    public Tensor Generate(long imageHeight, long imageWidth, IReadOnlyList<GridSize> featureMaps)
    {
        using var scope = NewDisposeScope();
        var d = RelativeCxcywh(imageHeight, imageWidth, featureMaps);
        var size = tensor(new long[] { imageWidth, imageHeight });
        var c = d.narrow(1, 0, 2);
        var half = 0.5 * d.narrow(1, 2, 2);
        return cat([(c - half) * size, (c + half) * size], -1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Anchor points of anchor-free detectors (YOLOv8's make_anchors, FCOS-style): the centres of every
/// cell of every level, in that level's grid units ((j + offset, i + offset)), with the level's stride
/// beside each, so that pixels = point * stride.
/// </summary>
public static class PointGrid
{
    /// <param name="featureMaps">Levels' sizes.</param>
    /// <param name="strides">Pixels per cell of each level.</param>
    /// <param name="offset">Where in the cell the point is (0.5: the centre).</param>
    /// <returns>Points [N, 2] (x, y) in grid units and strides [N, 1], float32, level by level, row-major.</returns>
    public static (Tensor Points, Tensor Strides) Generate(IReadOnlyList<GridSize> featureMaps, IReadOnlyList<double> strides, double offset = 0.5)
    {
        if (featureMaps.Count != strides.Count)
            throw new ArgumentException($"{featureMaps.Count} feature maps but {strides.Count} strides");
        using var scope = NewDisposeScope();
        var points = new List<Tensor>();
        var strideList = new List<Tensor>();
        for (int k = 0; k < featureMaps.Count; k++)
        {
            var (h, w) = (featureMaps[k].Height, featureMaps[k].Width);
            var sx = arange(0, w, ScalarType.Float32) + offset;
            var sy = arange(0, h, ScalarType.Float32) + offset;
            var grid = meshgrid([sy, sx], indexing: "ij");
            points.Add(stack([grid[1], grid[0]], -1).view(-1, 2));
            strideList.Add(full([h * w, 1], strides[k], ScalarType.Float32));
        }
        return (cat(points, 0).MoveToOuterDisposeScope(), cat(strideList, 0).MoveToOuterDisposeScope());
    }
}
