using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>What <see cref="TaskAlignedAssigner"/> gives each anchor point.</summary>
/// <param name="Labels">[B, A] int64: class of the assigned ground truth (0 where none, as YOLOv8).</param>
/// <param name="Boxes">[B, A, 4]: the assigned ground-truth box (ground truth 0's where none).</param>
/// <param name="Scores">[B, A, C]: soft classification targets (one-hot x normalised alignment), 0 for background.</param>
/// <param name="Foreground">[B, A] bool: anchor points that have a ground truth.</param>
/// <param name="GroundTruthIndex">[B, A] int64: index of the assigned ground truth in its image.</param>
public sealed record TaskAlignedAssignment(Tensor Labels, Tensor Boxes, Tensor Scores, Tensor Foreground, Tensor GroundTruthIndex);

/// <summary>
/// YOLOv8's task-aligned assigner (TOOD, Feng et al. 2021; ultralytics' TaskAlignedAssigner), the
/// default detector's label assignment. For every ground truth g and anchor point a (batched, no loops):
/// <code>
///   candidate(g, a)  = point a lies inside box g (all four distances &gt; 1e-9) and g is a real box
///   overlap(g, a)    = max(0, CIoU(g, predicted box a))   only for candidates, else 0
///   s(g, a)          = predicted probability of g's class at a   (candidates; else 0)
///   t(g, a)          = s^alpha * overlap^beta                 alignment metric, alpha = 0.5, beta = 6
///   positive(g, a)   = a is among the top-k (k = 10) t of g, and a candidate
///   an anchor positive for several g keeps the one with the highest overlap
///   target score at a (for its class) = max over g of t(g, a) * max_a' overlap(g, a') / (max_a' t(g, a') + 1e-9)
///                                         (t and the maxima over g's positives only)
/// </code>
/// CIoU here is ultralytics' bbox_iou(CIoU=True, eps=1e-7): h + eps, union + eps,
/// alpha_ciou = v / (v - IoU + 1 + eps), which differs from torchvision's in the last digits.
/// Ties (in top-k and in the overlap maximum) go as torch.topk / argmax decide.
/// </summary>
public sealed class TaskAlignedAssigner(int numClasses, int topK = 10, double alpha = 0.5, double beta = 6.0, double eps = 1e-9)
{
    public int NumClasses { get; } = numClasses;
    public int TopK { get; } = topK;
    public double Alpha { get; } = alpha;
    public double Beta { get; } = beta;
    public double Eps { get; } = eps;

    /// <param name="predictedScores">[B, A, C] class probabilities (after sigmoid).</param>
    /// <param name="predictedBoxes">[B, A, 4] xyxy, in the same units as the points and ground truths.</param>
    /// <param name="anchorPoints">[A, 2] (x, y).</param>
    /// <param name="groundTruthLabels">[B, M, 1] integer classes (padding rows: any valid class).</param>
    /// <param name="groundTruthBoxes">[B, M, 4] xyxy.</param>
    /// <param name="groundTruthMask">[B, M, 1]: 1 for real boxes, 0 for padding.</param>
    public TaskAlignedAssignment Assign(Tensor predictedScores, Tensor predictedBoxes, Tensor anchorPoints,
        Tensor groundTruthLabels, Tensor groundTruthBoxes, Tensor groundTruthMask)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        long b = predictedScores.shape[0], a = predictedScores.shape[1], m = groundTruthBoxes.shape[1];
        if (m == 0)
        {
            var empty = new TaskAlignedAssignment(
                full([b, a], NumClasses, ScalarType.Int64), zeros_like(predictedBoxes), zeros_like(predictedScores),
                zeros([b, a], ScalarType.Bool), zeros([b, a], ScalarType.Int64));
            return Keep(empty);
        }
        var maskGt = groundTruthMask.to_type(predictedScores.dtype);
        var inGts = CandidatesInGroundTruths(anchorPoints, groundTruthBoxes).to_type(predictedScores.dtype);
        var candidates = (inGts * maskGt).to_type(ScalarType.Bool);

        // alignment metric of every (ground truth, anchor) pair, [B, M, A]
        var labels = groundTruthLabels.to_type(ScalarType.Int64).reshape(b, m, 1);
        var classScores = predictedScores.transpose(1, 2).gather(1, labels.expand(b, m, a));
        var boxScores = where(candidates, classScores, zeros_like(classScores));
        var ciou = CompleteIou(groundTruthBoxes.unsqueeze(2), predictedBoxes.unsqueeze(1)).clamp_min(0);
        var overlaps = where(candidates, ciou.to_type(predictedBoxes.dtype), zeros_like(ciou).to_type(predictedBoxes.dtype));
        var alignMetric = boxScores.pow(Alpha) * overlaps.pow(Beta);

        var topK = TopKMask(alignMetric, maskGt.to_type(ScalarType.Bool));
        var maskPos = topK * inGts * maskGt;

        // an anchor claimed by several ground truths keeps the one it overlaps most
        var foregroundCount = maskPos.sum(-2);
        var multiple = (foregroundCount.unsqueeze(1) > 1).expand(b, m, a);
        var isMaxOverlap = zeros_like(maskPos).scatter_(1, overlaps.argmax(1).unsqueeze(1), ones_like(maskPos));
        maskPos = where(multiple, isMaxOverlap, maskPos);
        var foreground = maskPos.sum(-2);
        var gtIndex = maskPos.argmax(-2);

        var flatIndex = gtIndex + arange(b, ScalarType.Int64).unsqueeze(1) * m;
        var targetLabels = labels.flatten().index(flatIndex).clamp_min(0);
        var targetBoxes = groundTruthBoxes.reshape(-1, 4).index(flatIndex);
        var oneHot = zeros([b, a, NumClasses], ScalarType.Int64).scatter_(2, targetLabels.unsqueeze(-1), ones([b, a, 1], ScalarType.Int64));
        oneHot = where(foreground.unsqueeze(-1) > 0, oneHot, zeros_like(oneHot));

        alignMetric = alignMetric * maskPos;
        var posAlign = alignMetric.amax([-1], keepdim: true);
        var posOverlaps = (overlaps * maskPos).amax([-1], keepdim: true);
        var normalised = (alignMetric * posOverlaps / (posAlign + Eps)).amax([-2]).unsqueeze(-1);
        var targetScores = oneHot * normalised;
        return Keep(new TaskAlignedAssignment(targetLabels, targetBoxes, targetScores, foreground > 0, gtIndex));
    }

    static TaskAlignedAssignment Keep(TaskAlignedAssignment r)
    {
        foreach (var t in new[] { r.Labels, r.Boxes, r.Scores, r.Foreground, r.GroundTruthIndex })
            t.MoveToOuterDisposeScope();
        return r;
    }

    /// <summary>[B, M, A]: 1 where anchor point a lies strictly inside ground truth g (every side more than 1e-9 away).</summary>
    public static Tensor CandidatesInGroundTruths(Tensor points, Tensor groundTruthBoxes, double eps = 1e-9)
    {
        long b = groundTruthBoxes.shape[0], m = groundTruthBoxes.shape[1], a = points.shape[0];
        var boxes = groundTruthBoxes.reshape(-1, 1, 4);
        var lt = boxes.narrow(2, 0, 2);
        var rb = boxes.narrow(2, 2, 2);
        var deltas = cat([points.unsqueeze(0) - lt, rb - points.unsqueeze(0)], 2).view(b, m, a, 4);
        return deltas.amin([3]) > eps;
    }

    /// <summary>1 at the top-k alignment metrics of each real ground truth (padding rows: none).</summary>
    Tensor TopKMask(Tensor metrics, Tensor realGroundTruths)
    {
        long a = metrics.shape[2];
        int k = (int)Math.Min(TopK, a);
        var (_, idx) = metrics.topk(k, dim: -1, largest: true);
        idx = idx.masked_fill(~realGroundTruths.expand(idx.shape), 0);
        var count = zeros(metrics.shape, ScalarType.Int8).scatter_add_(-1, idx, ones(idx.shape, ScalarType.Int8));
        return count.masked_fill(count > 1, 0).to_type(metrics.dtype);
    }

    /// <summary>ultralytics' bbox_iou(box1, box2, xywh=False, CIoU=True) for broadcastable xyxy [..., 4]: [...].</summary>
    internal static Tensor CompleteIou(Tensor box1, Tensor box2, double eps = 1e-7)
    {
        var a = box1.unbind(-1);
        var g = box2.unbind(-1);
        var w1 = a[2] - a[0];
        var h1 = a[3] - a[1] + eps;
        var w2 = g[2] - g[0];
        var h2 = g[3] - g[1] + eps;
        var inter = (minimum(a[2], g[2]) - maximum(a[0], g[0])).clamp_min(0) * (minimum(a[3], g[3]) - maximum(a[1], g[1])).clamp_min(0);
        var union = w1 * h1 + w2 * h2 - inter + eps;
        var iou = inter / union;
        var cw = maximum(a[2], g[2]) - minimum(a[0], g[0]);
        var ch = maximum(a[3], g[3]) - minimum(a[1], g[1]);
        var c2 = cw.pow(2) + ch.pow(2) + eps;
        var rho2 = ((g[0] + g[2] - a[0] - a[2]).pow(2) + (g[1] + g[3] - a[1] - a[3]).pow(2)) / 4;
        var v = (atan(w2 / h2) - atan(w1 / h1)).pow(2) * (4 / (Math.PI * Math.PI));
        Tensor alpha;
        using (no_grad())
            alpha = v / (v - iou + (1 + eps));
        return iou - (rho2 / c2 + v * alpha);
    }
}
