namespace PixelBox.Coco;

/// <summary>
/// Step 2's result, as COCOeval.eval: precision[T,R,K,A,M], recall[T,K,A,M] and scores[T,R,K,A,M]
/// as flat arrays in C order; -1 where a category has no (non-ignored) ground truth.
/// </summary>
public sealed class CocoAccumulation
{
    internal CocoAccumulation(CocoParams parameters, long[] categoryIds, double[] precision, double[] recall, double[] scores)
    {
        Params = parameters;
        CategoryIds = categoryIds;
        Precision = precision;
        Recall = recall;
        Scores = scores;
    }

    public CocoParams Params { get; }
    public long[] CategoryIds { get; }
    public double[] Precision { get; }
    public double[] Recall { get; }
    public double[] Scores { get; }

    public int T => Params.IouThresholds.Length;
    public int R => Params.RecallThresholds.Length;
    public int K => CategoryIds.Length;
    public int A => Params.AreaRanges.Length;
    public int M => Params.MaxDetections.Length;

    public double PrecisionAt(int t, int r, int k, int a, int m) => Precision[(((t * R + r) * K + k) * A + a) * M + m];
    public double ScoreAt(int t, int r, int k, int a, int m) => Scores[(((t * R + r) * K + k) * A + a) * M + m];
    public double RecallAt(int t, int k, int a, int m) => Recall[((t * K + k) * A + a) * M + m];

    /// <summary>Index of an IoU threshold equal to <paramref name="iou"/> (exact, as np.where(iouThr == p.iouThrs)), or -1.</summary>
    public int IouIndex(double iou) => Array.IndexOf(Params.IouThresholds, iou);

    /// <summary>
    /// Mean precision (ap = true) or recall over entries > -1 (pycocotools' np.mean(s[s > -1])), -1 if none. Null
    /// selectors mean all; entries are visited in C order so the pairwise sum matches numpy's.
    /// </summary>
    public double Mean(bool ap, int? t = null, int? k = null, int a = 0, int m = -1)
    {
        if (m < 0)
            m = M - 1;
        int t0 = t ?? 0, t1 = t.HasValue ? t0 + 1 : T;
        int k0 = k ?? 0, k1 = k.HasValue ? k0 + 1 : K;
        // the entries > -1 gathered in C order into a pooled buffer (the summary means read ~80k values)
        var kept = System.Buffers.ArrayPool<double>.Shared.Rent((t1 - t0) * (ap ? R : 1) * (k1 - k0));
        int n = 0;
        for (int ti = t0; ti < t1; ti++)
        {
            if (ap)
            {
                for (int r = 0; r < R; r++)
                    for (int ki = k0; ki < k1; ki++)
                        if (PrecisionAt(ti, r, ki, a, m) is var v && v > -1)
                            kept[n++] = v;
            }
            else
            {
                for (int ki = k0; ki < k1; ki++)
                    if (RecallAt(ti, ki, a, m) is var v && v > -1)
                        kept[n++] = v;
            }
        }
        double mean = n == 0 ? -1 : NumpyMath.Mean(kept.AsSpan(0, n));
        System.Buffers.ArrayPool<double>.Shared.Return(kept);
        return mean;
    }

    /// <summary>Step 3: the summary lines and stats (12 for the default parameters).</summary>
    public CocoSummary Summarize() => CocoSummary.From(this);
}
