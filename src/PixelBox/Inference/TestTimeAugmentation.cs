namespace PixelBox.Inference;

/// <summary>
/// Test-time augmentation: the model also sees each image (or tile) mirrored and/or rescaled; every pass's logits
/// are brought back to the input's orientation and size (flipped back; bilinear, as torch's
/// <c>interpolate(align_corners=False)</c>) and the logits of all passes averaged. The flips are combined as
/// nnU-Net does: with both, the passes are none, horizontal, vertical and both; each at every scale.
/// </summary>
/// <param name="Scales">Factors applied to both sides (1 is the image as it is); a scaled side is rounded, at least 1.</param>
public sealed record TestTimeAugmentation(bool HorizontalFlip, bool VerticalFlip, IReadOnlyList<double> Scales)
{
    public static TestTimeAugmentation None { get; } = new(false, false, [1.0]);

    /// <summary>One pass over the input as it is.</summary>
    public bool IsNone => !HorizontalFlip && !VerticalFlip && Scales is [1.0];

    /// <summary>(horizontal, vertical) flips of every pass at one scale.</summary>
    public IReadOnlyList<(bool Horizontal, bool Vertical)> Flips =>
        [.. from v in VerticalFlip ? new[] { false, true } : [false]
            from h in HorizontalFlip ? new[] { false, true } : [false]
            select (h, v)];

    public int Passes => Flips.Count * Scales.Count;

    /// <summary><paramref name="run"/> with this augmentation around it (itself when there is none).</summary>
    public TileLogits Wrap(TileLogits run, int channels, int classes)
    {
        if (IsNone)
            return run;
        return (tiles, count, height, width) =>
        {
            var sum = new float[(long)count * classes * height * width];
            foreach (var scale in Scales)
            {
                int h = ScaledSide(height, scale), w = ScaledSide(width, scale);
                var scaled = h == height && w == width ? tiles : Resize(tiles, count * channels, height, width, h, w);
                foreach (var (horizontal, vertical) in Flips)
                {
                    var logits = Flip(run(Flip(scaled, count * channels, h, w, horizontal, vertical), count, h, w), count * classes, h, w, horizontal, vertical);
                    if (h != height || w != width)
                        logits = Resize(logits, count * classes, h, w, height, width);
                    for (int i = 0; i < sum.Length; i++)
                        sum[i] += logits[i];
                }
            }
            float passes = Passes;
            for (int i = 0; i < sum.Length; i++)
                sum[i] /= passes;
            return sum;
        };
    }

    public static int ScaledSide(int side, double scale) => Math.Max(1, (int)Math.Round(side * scale));

    /// <summary>Planes [n, h, w] mirrored left-right and/or top-bottom (a new array; the input itself when neither).</summary>
    public static float[] Flip(float[] planes, int n, int h, int w, bool horizontal, bool vertical)
    {
        if (!horizontal && !vertical)
            return planes;
        var result = new float[planes.Length];
        for (int p = 0; p < n; p++)
        {
            for (int i = 0; i < h; i++)
            {
                var source = planes.AsSpan((p * h + i) * w, w);
                var target = result.AsSpan((p * h + (vertical ? h - 1 - i : i)) * w, w);
                source.CopyTo(target);
                if (horizontal)
                    target.Reverse();
            }
        }
        return result;
    }

    /// <summary>Planes [n, h, w] resized to [n, outH, outW] bilinearly with torch's half-pixel rule (align_corners=False, no antialiasing).</summary>
    public static float[] Resize(float[] planes, int n, int h, int w, int outH, int outW)
    {
        var (rowSources, rowWeights) = Taps(h, outH);
        var (colSources, colWeights) = Taps(w, outW);
        var result = new float[(long)n * outH * outW];
        var widened = new float[h * outW];
        for (int p = 0; p < n; p++)
        {
            var plane = planes.AsSpan(p * h * w, h * w);
            for (int i = 0; i < h; i++)
            {
                var row = plane.Slice(i * w, w);
                for (int j = 0; j < outW; j++)
                    widened[i * outW + j] = row[colSources[2 * j]] * colWeights[2 * j] + row[colSources[2 * j + 1]] * colWeights[2 * j + 1];
            }
            var target = result.AsSpan(p * outH * outW, outH * outW);
            for (int i = 0; i < outH; i++)
            {
                var top = widened.AsSpan(rowSources[2 * i] * outW, outW);
                var bottom = widened.AsSpan(rowSources[2 * i + 1] * outW, outW);
                var (a, b) = (rowWeights[2 * i], rowWeights[2 * i + 1]);
                var output = target.Slice(i * outW, outW);
                for (int j = 0; j < outW; j++)
                    output[j] = top[j] * a + bottom[j] * b;
            }
        }
        return result;
    }

    /// <summary>For each output index the two source indices and their weights: source = (o + 0.5) * in / out - 0.5, clamped at 0.</summary>
    static (int[] Sources, float[] Weights) Taps(int size, int outSize)
    {
        var sources = new int[2 * outSize];
        var weights = new float[2 * outSize];
        float ratio = (float)size / outSize;
        for (int o = 0; o < outSize; o++)
        {
            float source = Math.Max(0f, (o + 0.5f) * ratio - 0.5f);
            int low = Math.Min((int)source, size - 1);
            float lambda = Math.Min(source - low, 1f);
            sources[2 * o] = low;
            sources[2 * o + 1] = Math.Min(low + 1, size - 1);
            weights[2 * o] = 1 - lambda;
            weights[2 * o + 1] = lambda;
        }
        return (sources, weights);
    }
}
