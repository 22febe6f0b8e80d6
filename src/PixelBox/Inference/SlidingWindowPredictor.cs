using PixelBox.Data;
using PixelBox.Imaging;

namespace PixelBox.Inference;

/// <summary>How overlapping tiles' logits are weighted where they meet.</summary>
public enum WindowBlend
{
    /// <summary>A Gaussian centred on the tile, sigma = side / 8 (nnU-Net): tile centres dominate, edges fade.</summary>
    Gaussian,

    /// <summary>A tent: weight falls linearly from the centre to the edges (never to 0).</summary>
    Linear,
}

/// <summary>
/// Sliding-window settings. <paramref name="Margin"/>: pixels at each tile edge that lies inside the image given no
/// weight (for a model whose border outputs suffer from padding; needs 2 * margin &lt;= tile - stride so that every
/// pixel keeps some weight). <paramref name="BatchSize"/>: tiles per forward pass.
/// </summary>
public sealed record SlidingWindowOptions(int TileSize, int Stride, WindowBlend Blend = WindowBlend.Gaussian, int Margin = 0, int BatchSize = 4)
{
    /// <summary>The stride for a tile and an overlap fraction in [0, 1): tile * (1 - overlap), rounded, at least 1.</summary>
    public static int StrideFor(int tileSize, double overlap) => Math.Max(1, (int)Math.Round(tileSize * (1 - overlap)));

    /// <summary>Throws ArgumentException when the values do not make a usable window.</summary>
    public void Validate()
    {
        if (TileSize < 1 || Stride < 1 || Stride > TileSize)
            throw new ArgumentException($"tile {TileSize} and stride {Stride}: need 1 <= stride <= tile");
        if (Margin < 0 || 2 * Margin > TileSize - Stride)
            throw new ArgumentException($"margin {Margin}: needs 0 <= 2 * margin <= tile - stride ({TileSize - Stride})");
        if (BatchSize < 1)
            throw new ArgumentException($"batch size {BatchSize}: needs at least 1");
    }
}

/// <summary>Finished rows of blended logits: rows [Top, Top + Rows) of an image <see cref="Width"/> wide, class by class.</summary>
public readonly struct LogitRows(int top, int rows, int width, int classes, float[] values, int planeStride)
{
    public int Top { get; } = top;

    public int Rows { get; } = rows;

    public int Width { get; } = width;

    public int Classes { get; } = classes;

    /// <summary>The logits of class <paramref name="k"/> in the <paramref name="i"/>-th of these rows.</summary>
    public ReadOnlySpan<float> Row(int k, int i) => values.AsSpan(k * planeStride + i * Width, Width);
}

/// <summary>
/// Sliding-window prediction for images larger than the model should see at once: tiles of a fixed side (a size
/// the model takes) at evenly spaced positions no further apart than the stride, the last flush with the far
/// edge (nnU-Net's placement); each tile's logits are weighted (<see cref="WindowBlend"/>), summed and divided by
/// the summed weights. Tiles come from the 8-bit image and are normalised one batch at a time, and the weighted
/// sums are kept for one band of tile rows only: rows that no later tile touches are finished (divided and handed
/// to the caller) before the next band starts. Memory is thus the batch of tiles plus (classes + 1) x tile x image
/// width floats: it grows with the image's width, not its area. A side no longer than the tile gets one tile of
/// that side; an image no larger than a tile in both sides goes through the model whole, unblended.
/// </summary>
public sealed class SlidingWindowPredictor
{
    readonly TileLogits run;
    readonly float[] table;

    /// <param name="run">The model on a batch of normalised tiles (see <see cref="TileLogits"/>).</param>
    public SlidingWindowPredictor(TileLogits run, int classes, Normalization normalization, SlidingWindowOptions options)
    {
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        this.run = run;
        Classes = classes;
        Options = options;
        table = normalization.Table();
    }

    public int Classes { get; }

    public SlidingWindowOptions Options { get; }

    /// <summary>Predicts <paramref name="image"/>, handing finished rows to <paramref name="rows"/> from top to bottom.</summary>
    public void Predict(RgbImage image, Action<LogitRows> rows)
    {
        int height = image.Height, width = image.Width;
        int tileH = Math.Min(Options.TileSize, height), tileW = Math.Min(Options.TileSize, width);
        if (tileH == height && tileW == width)
        {
            var whole = run(Tile(image, [(0, 0)], height, width), 1, height, width);
            rows(new LogitRows(0, height, width, Classes, whole, height * width));
            return;
        }
        var ys = Positions(height, tileH, Options.Stride);
        var xs = Positions(width, tileW, Options.Stride);
        var rowWeights = ys.Select((_, i) => Weights(tileH, i, ys.Length)).ToArray();
        var colWeights = xs.Select((_, j) => Weights(tileW, j, xs.Length)).ToArray();
        var band = new Band(Classes, tileH, width);
        for (int r = 0; r < ys.Length; r++)
        {
            var origins = xs.Select(x => (ys[r], x)).ToArray();
            for (int start = 0; start < origins.Length; start += Options.BatchSize)
            {
                var batch = origins.AsSpan(start, Math.Min(Options.BatchSize, origins.Length - start)).ToArray();
                var logits = run(Tile(image, batch, tileH, tileW), batch.Length, tileH, tileW);
                for (int t = 0; t < batch.Length; t++)
                    band.Add(logits.AsSpan(t * Classes * tileH * tileW, Classes * tileH * tileW), tileH, tileW, ys[r] - band.Top,
                             batch[t].Item2, rowWeights[r], colWeights[start + t]);
            }
            int finishedTo = r + 1 < ys.Length ? ys[r + 1] : height;
            band.Finish(finishedTo - band.Top, rows);
        }
    }

    /// <summary>Tile origins along a side: as few as the stride allows, evenly spaced, the first at 0 and the last at side - tile.</summary>
    public static int[] Positions(int side, int tile, int stride)
    {
        if (side <= tile)
            return [0];
        int count = (side - tile + stride - 1) / stride + 1;
        double step = (double)(side - tile) / (count - 1);
        return [.. Enumerable.Range(0, count).Select(i => (int)Math.Round(i * step))];
    }

    /// <summary>The blend's weights along one tile side, zero within the margin of an edge shared with another tile.</summary>
    float[] Weights(int side, int index, int count)
    {
        var weights = BlendWeights(Options.Blend, side);
        if (index > 0)
            weights.AsSpan(0, Math.Min(Options.Margin, side)).Clear();
        if (index < count - 1)
            weights.AsSpan(side - Math.Min(Options.Margin, side)).Clear();
        return weights;
    }

    /// <summary>One side's weights (the 2-D window is the outer product of two): positive everywhere, 1 at the centre.</summary>
    public static float[] BlendWeights(WindowBlend blend, int side)
    {
        double centre = (side - 1) / 2.0, sigma = side / 8.0, half = (side + 1) / 2;
        return [.. Enumerable.Range(0, side).Select(i => blend == WindowBlend.Gaussian
            // nnU-Net replaces zeros with the smallest positive weight; at a float's 1e-38 a Gaussian never underflows within a tile
            ? (float)Math.Max(Math.Exp(-(i - centre) * (i - centre) / (2 * sigma * sigma)), 1e-30)
            : (float)(Math.Min(i + 1, side - i) / half))];
    }

    /// <summary>Normalised tiles [n, 3, h, w] cut from the 8-bit image at the given (y, x) origins.</summary>
    float[] Tile(RgbImage image, (int Y, int X)[] origins, int h, int w)
    {
        int plane = h * w;
        var tiles = new float[origins.Length * 3 * plane];
        for (int t = 0; t < origins.Length; t++)
        {
            for (int c = 0; c < 3; c++)
            {
                var lookup = table.AsSpan(c * 256, 256);
                for (int i = 0; i < h; i++)
                {
                    var source = image.Pixels.AsSpan(((origins[t].Y + i) * image.Width + origins[t].X) * 3, w * 3);
                    var target = tiles.AsSpan((t * 3 + c) * plane + i * w, w);
                    for (int j = 0; j < w; j++)
                        target[j] = lookup[source[3 * j + c]];
                }
            }
        }
        return tiles;
    }

    /// <summary>Weighted logit sums and weight sums for the rows [Top, Top + tile height) of the image.</summary>
    sealed class Band(int classes, int height, int width)
    {
        readonly float[] sums = new float[classes * height * width];
        readonly float[] weights = new float[height * width];

        public int Top { get; private set; }

        /// <summary>Adds one tile's logits [classes, h, w] at (row, x) of the band, weighted rowWeights[i] * colWeights[j].</summary>
        public void Add(ReadOnlySpan<float> logits, int h, int w, int row, int x, float[] rowWeights, float[] colWeights)
        {
            var weight = new float[w];
            for (int i = 0; i < h; i++)
            {
                for (int j = 0; j < w; j++)
                    weight[j] = rowWeights[i] * colWeights[j];
                var weightRow = weights.AsSpan((row + i) * width + x, w);
                for (int j = 0; j < w; j++)
                    weightRow[j] += weight[j];
                for (int k = 0; k < classes; k++)
                {
                    var sum = sums.AsSpan((k * height + row + i) * width + x, w);
                    var source = logits.Slice((k * h + i) * w, w);
                    for (int j = 0; j < w; j++)
                        sum[j] += weight[j] * source[j];
                }
            }
        }

        /// <summary>Divides the first <paramref name="count"/> rows by their weights and hands them to
        /// <paramref name="rows"/>; the band then moves down by as many rows.</summary>
        public void Finish(int count, Action<LogitRows> rows)
        {
            for (int k = 0; k < classes; k++)
            {
                var sum = sums.AsSpan(k * height * width, count * width);
                var weight = weights.AsSpan(0, count * width);
                for (int i = 0; i < sum.Length; i++)
                    sum[i] /= weight[i];
            }
            rows(new LogitRows(Top, count, width, classes, sums, height * width));
            Shift(count);
        }

        void Shift(int count)
        {
            int kept = (height - count) * width;
            for (int k = 0; k < classes; k++)
            {
                var plane = sums.AsSpan(k * height * width, height * width);
                plane[(count * width)..].CopyTo(plane);
                plane[kept..].Clear();
            }
            weights.AsSpan(count * width).CopyTo(weights);
            weights.AsSpan(kept).Clear();
            Top += count;
        }
    }
}

/// <summary>
/// A model on a batch of normalised tiles: <paramref name="tiles"/> float32 [count, channels, height, width]
/// (row-major) to logits float32 [count, classes, height, width]; any side, padded and cropped back as the
/// model needs.
/// </summary>
public delegate float[] TileLogits(float[] tiles, int count, int height, int width);
