using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>
/// Class-weighted cross-entropy <c>l = -sum_c a_c y_c log p_c = -a_t log p_t</c> per pixel (p = softmax of the
/// logits over dim 1, t the target class), pixels labelled <see cref="IgnoreIndex"/> excluded.
/// Logits [N, C, d1..dk] (k = 0 for [N, C]), target int64 [N, d1..dk].
/// Reductions as PyTorch's <c>cross_entropy(weight, ignore_index)</c>: None gives the per-pixel losses
/// (0 at ignored pixels); Sum their sum; Mean their sum divided by <c>sum a_t</c> over counted pixels
/// (the number of counted pixels without weights) — a weighted mean, not sum/N. Unlike PyTorch, Mean is 0
/// (not NaN) when no pixel counts.
/// </summary>
public sealed class WeightedCrossEntropyLoss : nn.Module<Tensor, Tensor, Tensor>
{
    readonly double[]? classWeights;

    /// <param name="classWeights">a_c, one finite non-negative weight per class; null means all 1.</param>
    /// <param name="ignoreIndex">target label whose pixels neither add to the loss nor get gradient.</param>
    /// <param name="reduction">None, Sum or Mean (see the class remarks for what Mean divides by).</param>
    public WeightedCrossEntropyLoss(double[]? classWeights = null, long ignoreIndex = 255, nn.Reduction reduction = nn.Reduction.Mean)
        : base(nameof(WeightedCrossEntropyLoss))
    {
        this.classWeights = LabelMap.CopyWeights(classWeights, nameof(classWeights));
        IgnoreIndex = ignoreIndex;
        Reduction = reduction;
    }

    public long IgnoreIndex { get; }

    public nn.Reduction Reduction { get; }

    public IReadOnlyList<double>? ClassWeights => classWeights;

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (valid, safeTarget) = LabelMap.Prepare(logits, target, IgnoreIndex);
        var weight = LabelMap.ClassWeights(classWeights, logits);
        // libtorch's fused kernel gives a_t * (-log p_t) per pixel and 0 at ignored ones.
        var perPixel = nn.functional.cross_entropy(logits, target, weight, IgnoreIndex, nn.Reduction.None);
        var pixelWeight = weight is null ? valid.to(logits.dtype) : weight.take(safeTarget).mul(valid);
        return LabelMap.Reduce(perPixel, pixelWeight, Reduction).MoveToOuterDisposeScope();
    }
}
