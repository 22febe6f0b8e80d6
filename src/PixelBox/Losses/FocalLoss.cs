using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>
/// Multiclass (softmax) focal loss <c>l = -sum_c (1 - p_c)^gamma a_c y_c log p_c = -(1 - p_t)^gamma a_t log p_t</c>
/// per pixel (Lin et al. 2017 in its softmax form), pixels labelled <see cref="IgnoreIndex"/> excluded.
/// Logits [N, C, d1..dk] (k = 0 for [N, C]), target int64 [N, d1..dk].
/// Reductions match <see cref="WeightedCrossEntropyLoss"/>: Mean divides the summed losses by
/// <c>sum a_t</c> over counted pixels (their count without alpha), so with gamma = 0 this is exactly the
/// weighted cross-entropy, reduction included. Mean is 0 when no pixel counts.
/// </summary>
public sealed class FocalLoss : nn.Module<Tensor, Tensor, Tensor>
{
    readonly double[]? alpha;

    /// <param name="gamma">focusing exponent, >= 0; 0 gives the weighted cross-entropy.</param>
    /// <param name="alpha">a_c, one finite non-negative weight per class; null means all 1.</param>
    /// <param name="ignoreIndex">target label whose pixels neither add to the loss nor get gradient.</param>
    /// <param name="reduction">None, Sum or Mean (weighted mean, as the class remarks say).</param>
    public FocalLoss(double gamma = 2.0, double[]? alpha = null, long ignoreIndex = 255, nn.Reduction reduction = nn.Reduction.Mean)
        : base(nameof(FocalLoss))
    {
        if (!double.IsFinite(gamma) || gamma < 0)
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be finite and >= 0");
        Gamma = gamma;
        this.alpha = LabelMap.CopyWeights(alpha, nameof(alpha));
        IgnoreIndex = ignoreIndex;
        Reduction = reduction;
    }

    public double Gamma { get; }

    public IReadOnlyList<double>? Alpha => alpha;

    public long IgnoreIndex { get; }

    public nn.Reduction Reduction { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (valid, safeTarget) = LabelMap.Prepare(logits, target, IgnoreIndex);
        var validF = valid.to(logits.dtype);
        var logPt = logits.log_softmax(1).gather(1, safeTarget.unsqueeze(1)).squeeze(1);
        var weight = LabelMap.ClassWeights(alpha, logits);
        var pixelWeight = weight is null ? validF : weight.take(safeTarget).mul(validF);
        var perPixel = logPt.mul(pixelWeight).neg();
        if (Gamma > 0)
        {
            // 1 - p_t as -expm1(log p_t) keeps precision for confident pixels; the floor keeps the gradient
            // of x^gamma finite (gamma < 1) where p_t rounds to exactly 1 and the loss term is 0 anyway.
            var oneMinusPt = logPt.expm1().neg().clamp_min(finfo(logits.dtype).tiny);
            perPixel = perPixel.mul(oneMinusPt.pow(Gamma));
        }
        return LabelMap.Reduce(perPixel, pixelWeight, Reduction).MoveToOuterDisposeScope();
    }
}
