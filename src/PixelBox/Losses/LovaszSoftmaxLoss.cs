using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>
/// Lovasz-softmax loss (Berman, Rannen Triki, Blaschko, CVPR 2018): the convex Lovasz extension of the
/// per-class Jaccard loss, evaluated on the pixel errors <c>e_i = |y_ic - p_ic|</c> of the softmax probabilities.
/// For one class, with errors sorted decreasingly, <c>loss_c = sum_k e_(k) (J(k) - J(k-1))</c> where
/// <c>J(k) = k / |{y = c} ∪ {first k pixels}|</c> is the Jaccard loss when the first k pixels are the wrong ones;
/// for 0/1 errors (hard predictions) this is exactly <c>1 - IoU_c</c>.
/// The loss is the mean of <c>loss_c</c> over the classes taken (by default those present in the counted target,
/// as in the paper's code), computed over the whole batch flattened, or per image and then averaged over images
/// (an image with no class taken counts as 0, as in the paper's code). Pixels labelled <see cref="IgnoreIndex"/>
/// are left out. Logits [N, C, d1..dk], target int64 [N, d1..dk]; the result is a scalar.
/// </summary>
public sealed class LovaszSoftmaxLoss : nn.Module<Tensor, Tensor, Tensor>
{
    /// <param name="perImage">compute the loss per image and average, instead of over the flattened batch.</param>
    /// <param name="presentClassesOnly">average only classes with a counted target pixel (the paper's "present");
    /// false averages all C classes.</param>
    /// <param name="ignoreIndex">target label whose pixels neither add to the loss nor get gradient.</param>
    public LovaszSoftmaxLoss(bool perImage = false, bool presentClassesOnly = true, long ignoreIndex = 255)
        : base(nameof(LovaszSoftmaxLoss))
    {
        PerImage = perImage;
        PresentClassesOnly = presentClassesOnly;
        IgnoreIndex = ignoreIndex;
    }

    public bool PerImage { get; }

    public bool PresentClassesOnly { get; }

    public long IgnoreIndex { get; }

    public override Tensor forward(Tensor logits, Tensor target)
    {
        using var probabilities = logits.softmax(1);
        return FromProbabilities(probabilities, target, PerImage, PresentClassesOnly, IgnoreIndex);
    }

    /// <summary>The same loss from class probabilities [N, C, d1..dk] (each pixel summing to 1) instead of logits.</summary>
    public static Tensor FromProbabilities(Tensor probabilities, Tensor target, bool perImage = false,
        bool presentClassesOnly = true, long ignoreIndex = 255)
    {
        using var scope = NewDisposeScope();
        var (valid, safeTarget) = LabelMap.Prepare(probabilities, target, ignoreIndex);
        long n = probabilities.shape[0], numClasses = probabilities.shape[1];
        var foreground = LabelMap.OneHot(safeTarget, valid, numClasses);
        var validPixels = valid.unsqueeze(1);
        // Rows [B, C, P]: one row per image (perImage) or a single row for the whole batch.
        Tensor Rows(Tensor t) => perImage ? t.reshape(n, t.shape[1], -1) : t.transpose(0, 1).reshape(1, t.shape[1], -1);
        var fg = Rows(foreground).to(probabilities.dtype);
        // Ignored pixels get error 0 and fg 0: they sort behind every positive error, so they only ever meet
        // zero errors in the sum and change neither the value nor any gradient.
        var errors = Rows(validPixels).mul(fg.sub(Rows(probabilities)).abs());
        var (sortedErrors, order) = errors.sort(dim: -1, descending: true);
        var fgSorted = fg.gather(-1, order);
        var perClass = sortedErrors.mul(JaccardSteps(fgSorted)).sum(-1);   // [B, C]
        Tensor perRow;
        if (presentClassesOnly)
        {
            var present = fg.sum(-1).gt(0).to(probabilities.dtype);
            perRow = perClass.mul(present).sum(-1).div(present.sum(-1).clamp_min(1));
        }
        else
        {
            perRow = perClass.mean(new long[] { -1 });
        }
        return perRow.mean().MoveToOuterDisposeScope();
    }

    /// <summary>J(k) - J(k-1) along the last dim for foreground flags sorted by decreasing error (the gradient of
    /// the Lovasz extension, constant w.r.t. the errors).</summary>
    static Tensor JaccardSteps(Tensor fgSorted)
    {
        var total = fgSorted.sum(-1, keepdim: true);
        var intersection = total.sub(fgSorted.cumsum(-1));
        var union = total.add(fgSorted.neg().add(1).cumsum(-1));
        var jaccard = intersection.div(union).neg().add(1);
        long p = jaccard.shape[^1];
        if (p == 1) return jaccard;
        var previous = nn.functional.pad(jaccard.narrow(-1, 0, p - 1), [1, 0]);
        return jaccard.sub(previous);
    }
}
