namespace PixelBox.Coco;

/// <summary>
/// The lecture's simple per-class view (TP, FP, FN, precision, recall, F1 at one IoU threshold) from the
/// same matches COCO uses, and <see cref="MeanPrecision"/>: the precision TP/(TP+FP) averaged over the IoU
/// thresholds. The lecture writes that mean as "AP = 1/10 sum over thresholds 0.5..0.95 of TP/(TP+FP)", but it
/// is a precision, one per threshold with no ranking by score, not an average precision (COCO's AP is the
/// area under the interpolated precision/recall curve), so it is named for what it is.
/// </summary>
public sealed class CocoMatchCounts
{
    readonly long[] _tp, _fp, _numGt;

    internal CocoMatchCounts(double[] iouThresholds, long[] categoryIds, long[] tp, long[] fp, long[] numGt)
    {
        IouThresholds = iouThresholds;
        CategoryIds = categoryIds;
        _tp = tp;
        _fp = fp;
        _numGt = numGt;
    }

    public double[] IouThresholds { get; }
    public long[] CategoryIds { get; }

    /// <summary>Counts of category index k at the IoU threshold equal to <paramref name="iou"/>.</summary>
    public CocoClassCounts At(int k, double iou = 0.5)
    {
        int t = Array.IndexOf(IouThresholds, iou);
        if (t < 0)
            throw new ArgumentException($"IoU {iou} is not one of the evaluated thresholds");
        return AtIndex(k, t);
    }

    public CocoClassCounts AtIndex(int k, int t)
    {
        int T = IouThresholds.Length;
        long tp = _tp[k * T + t];
        return new CocoClassCounts(CategoryIds[k], tp, _fp[k * T + t], _numGt[k] - tp);
    }

    /// <summary>
    /// Precision TP/(TP+FP) averaged over the IoU thresholds (0 where a threshold has no counted detection);
    /// -1 when the category has neither ground truth nor detections. (Called "naive AP" before; the lecture's
    /// "AP" formula.)
    /// </summary>
    public double MeanPrecision(int k)
    {
        int T = IouThresholds.Length;
        double sum = 0;
        bool any = _numGt[k] > 0;
        for (int t = 0; t < T; t++)
        {
            var c = AtIndex(k, t);
            if (c.Tp + c.Fp > 0)
            {
                sum += (double)c.Tp / (c.Tp + c.Fp);
                any = true;
            }
        }
        return any ? sum / T : -1;
    }
}

/// <summary>TP/FP/FN of one category at one IoU threshold; -1 marks an undefined ratio.</summary>
public readonly record struct CocoClassCounts(long CategoryId, long Tp, long Fp, long Fn)
{
    public double Precision => Tp + Fp > 0 ? (double)Tp / (Tp + Fp) : -1;
    public double Recall => Tp + Fn > 0 ? (double)Tp / (Tp + Fn) : -1;
    /// <summary>2TP / (2TP + FP + FN), the harmonic mean of precision and recall.</summary>
    public double F1 => Tp + Fp + Fn > 0 ? 2.0 * Tp / (2.0 * Tp + Fp + Fn) : -1;
}
