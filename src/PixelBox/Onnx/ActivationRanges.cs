namespace PixelBox.Onnx;

/// <summary>How a calibrated activation's quantisation range is chosen from the values it took.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>The (100 - p)-th and p-th percentiles of the values seen (outliers clipped).</summary>
    Percentile,

    /// <summary>The clipping threshold of least KL divergence between the value histogram and its quantised copy (TensorRT's entropy calibration).</summary>
    Entropy,
}

/// <summary>A float range [Min, Max] an activation is quantised over (it always holds 0, so that 0 is exact).</summary>
public readonly record struct TensorRange(float Min, float Max)
{
    public TensorRange Including(float value) => new(Math.Min(Min, value), Math.Max(Max, value));

    public TensorRange Union(ReadOnlySpan<float> values)
    {
        float min = Min, max = Max;
        foreach (var v in values)
        {
            if (v < min)
                min = v;
            if (v > max)
                max = v;
        }
        return new TensorRange(min, max);
    }

    public static TensorRange Empty => new(float.PositiveInfinity, float.NegativeInfinity);
}

/// <summary>
/// A histogram of an activation's values over a range fixed in advance (the min-max pass): of the values
/// themselves for percentiles, of their magnitudes for entropy calibration. Values outside land in the end bins.
/// </summary>
public sealed class ValueHistogram
{
    public const int DefaultBins = 2048;

    const double Epsilon = 1e-4;

    readonly long[] counts;
    readonly float low, binWidth;
    readonly bool magnitudes;

    /// <param name="range">The values' range (min-max pass).</param>
    /// <param name="magnitudes">Count |x| over [0, max |x|] instead of x over the range.</param>
    public ValueHistogram(TensorRange range, bool magnitudes, int bins = DefaultBins)
    {
        this.magnitudes = magnitudes;
        counts = new long[bins];
        low = magnitudes ? 0 : range.Min;
        float high = magnitudes ? Math.Max(Math.Abs(range.Min), Math.Abs(range.Max)) : range.Max;
        binWidth = high > low ? (high - low) / bins : 1;
        Range = range;
    }

    /// <summary>The range the histogram was made for.</summary>
    public TensorRange Range { get; }

    public void Add(ReadOnlySpan<float> values)
    {
        float scale = 1 / binWidth;
        int last = counts.Length - 1;
        foreach (var v in values)
        {
            float x = magnitudes ? Math.Abs(v) : v;
            int bin = (int)((x - low) * scale);
            counts[bin < 0 ? 0 : bin > last ? last : bin]++;
        }
    }

    /// <summary>The values' (100 - p)-th and p-th percentiles (interpolated within a bin), widened to hold 0.</summary>
    public TensorRange Percentile(double percent)
    {
        if (magnitudes)
            throw new InvalidOperationException("percentiles are taken of the values, not of their magnitudes");
        long total = counts.Sum();
        double tail = total * (100 - percent) / 100;
        return new TensorRange(Quantile(tail, total), Quantile(total - tail, total)).Including(0);
    }

    /// <summary>The value below which <paramref name="rank"/> of the <paramref name="total"/> values lie.</summary>
    float Quantile(double rank, long total)
    {
        if (total == 0)
            return 0;
        long below = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (below + counts[i] >= rank && counts[i] > 0)
                return low + binWidth * (i + (float)((rank - below) / counts[i]));
            below += counts[i];
        }
        return low + binWidth * counts.Length;
    }

    /// <summary>
    /// TensorRT's entropy calibration on the magnitude histogram: for each candidate threshold (bin edge i from
    /// <paramref name="levels"/> up), P is the histogram up to i with the clipped tail added to its last bin, Q the
    /// first i bins merged into <paramref name="levels"/> quantisation levels and spread back over their non-empty
    /// bins; the threshold of least KL(P || Q) wins. Returns the values' range clipped to [-threshold, threshold].
    /// </summary>
    /// <param name="levels">Quantisation levels on one side of 0: 256 for a non-negative activation (uint8 [0, 255]), else 128.</param>
    public TensorRange Entropy(int levels)
    {
        if (!magnitudes)
            throw new InvalidOperationException("entropy calibration works on a histogram of magnitudes");
        int bins = counts.Length;
        if (counts.Sum() == 0 || levels >= bins)
            return Range.Including(0);
        double best = double.PositiveInfinity;
        int bestEdge = bins;
        var reference = new double[bins];
        var candidate = new double[bins];
        for (int edge = levels; edge <= bins; edge++)
        {
            double divergence = Divergence(edge, levels, reference, candidate);
            if (divergence < best)
                (best, bestEdge) = (divergence, edge);
        }
        float threshold = low + binWidth * bestEdge;
        return new TensorRange(Math.Max(Range.Min, -threshold), Math.Min(Range.Max, threshold)).Including(0);
    }

    double Divergence(int edge, int levels, double[] reference, double[] candidate)
    {
        var p = reference.AsSpan(0, edge);
        var q = candidate.AsSpan(0, edge);
        for (int i = 0; i < edge; i++)
            p[i] = counts[i];
        for (int i = edge; i < counts.Length; i++)
            p[edge - 1] += counts[i];
        for (int level = 0; level < levels; level++)
        {
            int start = (int)((long)level * edge / levels), end = (int)((long)(level + 1) * edge / levels);
            double sum = 0;
            int nonEmpty = 0;
            // the level's sum is of the clipped histogram; it is spread over the bins where P is non-empty
            for (int i = start; i < end; i++)
            {
                sum += counts[i];
                nonEmpty += p[i] > 0 ? 1 : 0;
            }
            for (int i = start; i < end; i++)
                q[i] = p[i] > 0 ? sum / nonEmpty : 0;
        }
        double pTotal = 0, qTotal = 0;
        for (int i = 0; i < edge; i++)
            (pTotal, qTotal) = (pTotal + p[i], qTotal + q[i]);
        if (qTotal == 0)
            return double.PositiveInfinity;
        // Q is smoothed as TensorRT / MXNet do: each empty bin gets Epsilon, taken evenly from the others (P's
        // clipped tail can sit in a bin Q left empty; without it the sum would be infinite).
        int empty = 0;
        for (int i = 0; i < edge; i++)
            empty += q[i] == 0 ? 1 : 0;
        double take = empty == edge ? 0 : Epsilon * empty / (edge - empty);
        double divergence = 0;
        for (int i = 0; i < edge; i++)
        {
            if (p[i] == 0)
                continue;
            double pi = p[i] / pTotal, qi = q[i] == 0 ? Epsilon : q[i] / qTotal - take;
            divergence += pi * Math.Log(pi / Math.Max(qi, Epsilon));
        }
        return divergence;
    }
}
