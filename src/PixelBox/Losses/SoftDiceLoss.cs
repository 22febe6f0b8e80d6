using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>
/// Multiclass soft Dice loss over the whole batch. With p = softmax of the logits over dim 1 and y the one-hot
/// target, both summed over every counted pixel of every image:
/// <c>dice_c = (2 sum p_c y_c + s) / (sum p_c + sum y_c + s)</c>, and the loss is the mean of <c>1 - dice_c</c>
/// over the classes taken. Pixels labelled <see cref="IgnoreIndex"/> are left out of every sum.
/// By default all C classes are taken: a class absent from the target then scores
/// <c>s / (sum p_c + s)</c>, so predicted mass on it is penalised. With <c>presentClassesOnly</c> only classes
/// with at least one counted target pixel in the batch are averaged (0 if there is none).
/// Logits [N, C, d1..dk], target int64 [N, d1..dk]; the result is a scalar.
/// </summary>
public sealed class SoftDiceLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <param name="smooth">s, added to numerator and denominator; >= 0, and > 0 unless only present classes are
    /// taken (an absent class with no predicted mass would be 0/0).</param>
    /// <param name="presentClassesOnly">average only classes that occur in the (non-ignored) target.</param>
    /// <param name="ignoreIndex">target label whose pixels neither add to the loss nor get gradient.</param>
    public SoftDiceLoss(double smooth = 1.0, bool presentClassesOnly = false, long ignoreIndex = 255)
        : base(nameof(SoftDiceLoss))
    {
        if (!double.IsFinite(smooth) || smooth < 0)
            throw new ArgumentOutOfRangeException(nameof(smooth), smooth, "smooth must be finite and >= 0");
        if (smooth == 0 && !presentClassesOnly)
            throw new ArgumentException("smooth = 0 needs presentClassesOnly (an absent class would be 0/0)", nameof(smooth));
        Smooth = smooth;
        PresentClassesOnly = presentClassesOnly;
        IgnoreIndex = ignoreIndex;
    }

    public double Smooth { get; }

    public bool PresentClassesOnly { get; }

    public long IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var scope = NewDisposeScope();
        var (valid, safeTarget) = LabelMap.Prepare(logits, target, IgnoreIndex);
        long numClasses = logits.shape[1];
        var oneHot = LabelMap.OneHot(safeTarget, valid, numClasses).to(logits.dtype);
        var probs = logits.softmax(1).mul(valid.unsqueeze(1));
        long[] allButClass = [0, .. Enumerable.Range(2, (int)logits.dim() - 2).Select(d => (long)d)];
        var intersection = probs.mul(oneHot).sum(allButClass);
        var targetMass = oneHot.sum(allButClass);
        var cardinality = probs.sum(allButClass).add(targetMass);
        var denominator = cardinality.add(Smooth);
        Tensor loss;
        if (PresentClassesOnly)
        {
            var present = targetMass.gt(0);
            // Absent classes are dropped; a unit denominator keeps them from producing 0/0 on the way.
            denominator = denominator.masked_fill(present.logical_not(), 1);
            var perClass = intersection.mul(2).add(Smooth).div(denominator).neg().add(1);
            var presentF = present.to(logits.dtype);
            loss = perClass.mul(presentF).sum().div(presentF.sum().clamp_min(1));
        }
        else
        {
            loss = intersection.mul(2).add(Smooth).div(denominator).neg().add(1).mean();
        }
        return loss.MoveToOuterDisposeScope();
    }
}
