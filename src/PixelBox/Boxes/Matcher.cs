using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>
/// torchvision's Matcher: each prediction (anchor) gets the ground truth it overlaps best, or a
/// negative code, from an [M ground truths, N predictions] quality (IoU) matrix:
/// <code>
///   best = max over ground truths;   match = its index
///   best &lt; low                 -> BelowLowThreshold (-1)   (background)
///   low &lt;= best &lt; high        -> BetweenThresholds (-2)    (ignored)
///   allow_low_quality_matches: every prediction that is some ground truth's best (ties included)
///   keeps its match even below the thresholds (Faster R-CNN's RPN rule)
/// </code>
/// RPN: high 0.7, low 0.3, allow low-quality; Fast R-CNN head: 0.5, 0.5; RetinaNet: 0.5, 0.4, allow.
/// </summary>
public class Matcher
{
    public const long BelowLowThreshold = -1;
    public const long BetweenThresholds = -2;

    public Matcher(double highThreshold, double lowThreshold, bool allowLowQualityMatches = false)
    {
        if (lowThreshold > highThreshold)
            throw new ArgumentException("low_threshold should be <= high_threshold");
        (HighThreshold, LowThreshold, AllowLowQualityMatches) = (highThreshold, lowThreshold, allowLowQualityMatches);
    }

    public double HighThreshold { get; }
    public double LowThreshold { get; }
    public bool AllowLowQualityMatches { get; }

    /// <summary>Matches [N] int64: a ground-truth index, or -1 / -2.</summary>
    public virtual Tensor Match(Tensor matchQualityMatrix)
    {
        if (matchQualityMatrix.numel() == 0)
            throw new ArgumentException(matchQualityMatrix.shape[0] == 0
                ? "No ground-truth boxes available for one of the images during training"
                : "No proposal boxes available for one of the images during training");
        using var scope = NewDisposeScope();
        var (values, matches) = matchQualityMatrix.max(0);
        var allMatches = AllowLowQualityMatches ? matches.clone() : null;
        var below = values < LowThreshold;
        var between = (values >= LowThreshold) & (values < HighThreshold);
        matches = matches.masked_fill(below, BelowLowThreshold).masked_fill(between, BetweenThresholds);
        if (allMatches is not null)
        {
            var (highest, _) = matchQualityMatrix.max(1);
            var pairs = nonzero(matchQualityMatrix == highest.unsqueeze(1));
            var predictions = pairs.select(1, 1);
            matches = matches.index_put_(allMatches.index_select(0, predictions), predictions);
        }
        return matches.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's SSDMatcher: Matcher(threshold, threshold) plus the best-prior rule: each ground truth's
/// best default box is matched to it whatever its IoU (a later ground truth wins a shared best box).
/// SSD: threshold 0.5.
/// </summary>
public sealed class SsdMatcher(double threshold) : Matcher(threshold, threshold)
{
    public override Tensor Match(Tensor matchQualityMatrix)
    {
        using var scope = NewDisposeScope();
        var matches = base.Match(matchQualityMatrix);
        var (_, best) = matchQualityMatrix.max(1);
        matches = matches.index_put_(arange(best.shape[0], ScalarType.Int64), best);
        return matches.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// SSD's hard negative mining, as torchvision's SSD.compute_loss: per image, the negatives with the
/// highest classification loss, ratio x as many as the image's positives:
/// <code>
///   num_negative = ratio * positives per image
///   loss of positives := -inf; rank = position in the loss sorted descending
///   background = rank &lt; num_negative
///   classification loss = (sum over positives + sum over background) / max(1, positives in the batch)
/// </code>
/// Ties in the loss are ranked by anchor index (a stable sort).
/// </summary>
public static class HardNegativeMining
{
    /// <summary>The mined negatives [B, A] (bool) from per-anchor classification losses [B, A] and the positives [B, A].</summary>
    public static Tensor Select(Tensor classificationLoss, Tensor foreground, int negativeToPositiveRatio = 3)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var numNegative = negativeToPositiveRatio * foreground.sum(1, keepdim: true, type: ScalarType.Int64);
        var negativeLoss = classificationLoss.detach().clone().masked_fill(foreground, double.NegativeInfinity);
        var (_, idx) = negativeLoss.sort(1, descending: true, stable: true);
        var (_, rank) = idx.sort(1, stable: true);
        return (rank < numNegative).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision SSD's classification loss from per-anchor losses: (positives + mined negatives) / max(1, positives).</summary>
    public static Tensor ClassificationLoss(Tensor classificationLoss, Tensor foreground, int negativeToPositiveRatio = 3)
    {
        var background = Select(classificationLoss, foreground, negativeToPositiveRatio);
        long positives = foreground.sum().item<long>();
        return (classificationLoss.masked_select(foreground).sum() + classificationLoss.masked_select(background).sum()) / Math.Max(1, positives);
    }
}
