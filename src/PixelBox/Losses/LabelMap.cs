using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>
/// Checks a (logits, target) pair the way every loss here needs it and derives the pieces they share:
/// which pixels count, and a target in which ignored pixels hold a harmless class (0) so it can index.
/// Shapes: logits [N, C, d1..dk] (k = 0 for plain classification), target int64 [N, d1..dk].
/// </summary>
internal static class LabelMap
{
    /// <summary>Validates the pair; returns the valid-pixel mask (bool, target's shape) and the
    /// target with ignored pixels set to class 0. Throws ArgumentException on a label outside [0, C)
    /// that is not <paramref name="ignoreIndex"/>.</summary>
    public static (Tensor Valid, Tensor SafeTarget) Prepare(Tensor logits, Tensor target, long ignoreIndex)
    {
        if (!logits.is_floating_point())
            throw new ArgumentException($"logits must be floating point, got {logits.dtype}", nameof(logits));
        if (logits.dim() < 2)
            throw new ArgumentException($"logits must be [N, C, ...], got shape [{string.Join(", ", logits.shape)}]", nameof(logits));
        if (target.dtype != ScalarType.Int64)
            throw new ArgumentException($"target must hold int64 class indices, got {target.dtype}", nameof(target));
        long[] expected = [logits.shape[0], .. logits.shape[2..]];
        if (!target.shape.SequenceEqual(expected))
            throw new ArgumentException(
                $"target shape [{string.Join(", ", target.shape)}] does not match logits [{string.Join(", ", logits.shape)}] " +
                $"(expected [{string.Join(", ", expected)}])", nameof(target));

        long numClasses = logits.shape[1];
        var valid = target.ne(ignoreIndex);
        using (var outOfRange = valid.logical_and(target.lt(0).logical_or(target.ge(numClasses))))
        {
            if (outOfRange.any().item<bool>())
            {
                long bad = target.masked_select(outOfRange)[0].item<long>();
                throw new ArgumentException(
                    $"target holds label {bad} outside [0, {numClasses}) that is not the ignore index {ignoreIndex}", nameof(target));
            }
        }
        return (valid, target.masked_fill(valid.logical_not(), 0));
    }

    /// <summary>One-hot of <paramref name="safeTarget"/> laid out like the logits, [N, C, d1..dk], bool;
    /// false everywhere at pixels where <paramref name="valid"/> is false.</summary>
    public static Tensor OneHot(Tensor safeTarget, Tensor valid, long numClasses)
    {
        var classShape = Enumerable.Repeat(1L, (int)safeTarget.dim() + 1).ToArray();
        classShape[1] = numClasses;
        using var classes = arange(numClasses, dtype: ScalarType.Int64, device: safeTarget.device).view(classShape);
        using var hit = safeTarget.unsqueeze(1).eq(classes);
        return hit.logical_and(valid.unsqueeze(1));
    }

    /// <summary>Per-class weights as a tensor of the logits' dtype and device, or null.</summary>
    public static Tensor? ClassWeights(double[]? weights, Tensor logits)
    {
        if (weights == null) return null;
        if (weights.Length != logits.shape[1])
            throw new ArgumentException($"{weights.Length} class weights given for {logits.shape[1]} classes", nameof(weights));
        return tensor(weights, dtype: logits.dtype, device: logits.device);
    }

    /// <summary>Validates constructor weights (finite, non-negative) and takes a private copy.</summary>
    public static double[]? CopyWeights(double[]? weights, string paramName)
    {
        if (weights == null) return null;
        if (weights.Length == 0)
            throw new ArgumentException("class weights must not be empty", paramName);
        foreach (var w in weights)
            if (!double.IsFinite(w) || w < 0)
                throw new ArgumentException($"class weights must be finite and >= 0, got {w}", paramName);
        return (double[])weights.Clone();
    }

    /// <summary>
    /// Reduces per-pixel losses (already 0 at ignored pixels) the way PyTorch's weighted cross-entropy does:
    /// Mean = sum(loss) / sum(weight of each counted pixel's target class) (the pixel count without weights);
    /// when nothing counts the mean is 0 (PyTorch gives NaN), so an all-ignored batch cannot poison training.
    /// </summary>
    public static Tensor Reduce(Tensor perPixel, Tensor pixelWeight, nn.Reduction reduction) => reduction switch
    {
        nn.Reduction.None => perPixel,
        nn.Reduction.Sum => perPixel.sum(),
        nn.Reduction.Mean => WeightedMean(perPixel, pixelWeight),
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, null),
    };

    static Tensor WeightedMean(Tensor perPixel, Tensor pixelWeight)
    {
        using var total = pixelWeight.sum();
        using var nothing = total.eq(0);
        // pixelWeight carries no gradient; where total is 0 every per-pixel loss is 0 too, so dividing by 1 gives 0.
        using var safeTotal = total.masked_fill(nothing, 1);
        using var sum = perPixel.sum();
        return sum.div(safeTotal);
    }
}
