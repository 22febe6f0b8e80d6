using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>
/// The IoU family on xyxy box tensors, as torchvision 0.14 defines them (same operations, same eps):
/// <code>
///   inter  = clamp(min(x2) - max(x1), 0) * clamp(min(y2) - max(y1), 0)
///   union  = area1 + area2 - inter
///   IoU    = inter / union
///   GIoU   = IoU - (C - union) / C                 C: area of the smallest enclosing box
///   DIoU   = IoU - rho^2 / (c^2 + eps)             rho: distance of the centres, c: enclosing box diagonal
///   CIoU   = DIoU - alpha * v,  v = 4/pi^2 (atan(w1/h1) - atan(w2/h2))^2,
///            alpha = v / (1 - IoU + v + eps)        (alpha is a constant for the gradient, as torchvision)
/// </code>
/// Pairwise functions give [N, M] matrices (torchvision.ops.box_iou, generalized_box_iou,
/// distance_box_iou, complete_box_iou). Aligned functions compare boxes1[i] with boxes2[i] for inputs of
/// the same shape [..., 4] and are what the losses are made of (torchvision's *_loss internals: there the
/// union gets + eps, IoU = inter / (union + eps), GIoU's enclosing area + eps). Everything is
/// differentiable with TorchSharp autograd.
/// </summary>
public static class BoxIou
{
    /// <summary>torchvision.ops.box_iou: [N, M].</summary>
    public static Tensor Pairwise(Tensor boxes1, Tensor boxes2)
    {
        var (inter, union) = InterUnion(boxes1, boxes2);
        return inter / union;
    }

    /// <summary>torchvision.ops.generalized_box_iou: [N, M].</summary>
    public static Tensor GeneralizedPairwise(Tensor boxes1, Tensor boxes2)
    {
        var (inter, union) = InterUnion(boxes1, boxes2);
        var iou = inter / union;
        var area = EnclosingWh(boxes1, boxes2);
        var areai = area.select(-1, 0) * area.select(-1, 1);
        return iou - (areai - union) / areai;
    }

    /// <summary>torchvision.ops.distance_box_iou: [N, M].</summary>
    public static Tensor DistancePairwise(Tensor boxes1, Tensor boxes2, double eps = 1e-7)
    {
        var (diou, _) = DistanceAndIou(BoxOps.Upcast(boxes1), BoxOps.Upcast(boxes2), eps);
        return diou;
    }

    /// <summary>torchvision.ops.complete_box_iou: [N, M].</summary>
    public static Tensor CompletePairwise(Tensor boxes1, Tensor boxes2, double eps = 1e-7)
    {
        boxes1 = BoxOps.Upcast(boxes1);
        boxes2 = BoxOps.Upcast(boxes2);
        var (diou, iou) = DistanceAndIou(boxes1, boxes2, eps);
        var wPred = (boxes1.select(-1, 2) - boxes1.select(-1, 0)).unsqueeze(1);
        var hPred = (boxes1.select(-1, 3) - boxes1.select(-1, 1)).unsqueeze(1);
        var wGt = boxes2.select(-1, 2) - boxes2.select(-1, 0);
        var hGt = boxes2.select(-1, 3) - boxes2.select(-1, 1);
        var v = (atan(wPred / hPred) - atan(wGt / hGt)).pow(2) * (4 / (Math.PI * Math.PI));
        Tensor alpha;
        using (no_grad())
            alpha = v / (1 - iou + v + eps);
        return diou - alpha * v;
    }

    static (Tensor Inter, Tensor Union) InterUnion(Tensor boxes1, Tensor boxes2)
    {
        var area1 = BoxOps.Area(boxes1);
        var area2 = BoxOps.Area(boxes2);
        var lt = maximum(boxes1.narrow(-1, 0, 2).unsqueeze(1), boxes2.narrow(-1, 0, 2));
        var rb = minimum(boxes1.narrow(-1, 2, 2).unsqueeze(1), boxes2.narrow(-1, 2, 2));
        var wh = BoxOps.Upcast(rb - lt).clamp_min(0);
        var inter = wh.select(-1, 0) * wh.select(-1, 1);
        var union = area1.unsqueeze(1) + area2 - inter;
        return (inter, union);
    }

    /// <summary>Width and height of the smallest box enclosing each pair, [N, M, 2].</summary>
    static Tensor EnclosingWh(Tensor boxes1, Tensor boxes2)
    {
        var lti = minimum(boxes1.narrow(-1, 0, 2).unsqueeze(1), boxes2.narrow(-1, 0, 2));
        var rbi = maximum(boxes1.narrow(-1, 2, 2).unsqueeze(1), boxes2.narrow(-1, 2, 2));
        return BoxOps.Upcast(rbi - lti).clamp_min(0);
    }

    static (Tensor Diou, Tensor Iou) DistanceAndIou(Tensor boxes1, Tensor boxes2, double eps)
    {
        var iou = Pairwise(boxes1, boxes2);
        var whi = EnclosingWh(boxes1, boxes2);
        var diagonal = whi.select(-1, 0).pow(2) + whi.select(-1, 1).pow(2) + eps;
        var xp = (boxes1.select(-1, 0) + boxes1.select(-1, 2)) / 2;
        var yp = (boxes1.select(-1, 1) + boxes1.select(-1, 3)) / 2;
        var xg = (boxes2.select(-1, 0) + boxes2.select(-1, 2)) / 2;
        var yg = (boxes2.select(-1, 1) + boxes2.select(-1, 3)) / 2;
        var centres = BoxOps.Upcast(xp.unsqueeze(1) - xg.unsqueeze(0)).pow(2) + BoxOps.Upcast(yp.unsqueeze(1) - yg.unsqueeze(0)).pow(2);
        return (iou - centres / diagonal, iou);
    }

    // ------------------------------------------------------------------------------------- aligned

    /// <summary>IoU of aligned pairs, inter / (union + eps) as inside torchvision's losses.</summary>
    public static Tensor Aligned(Tensor boxes1, Tensor boxes2, double eps = 1e-7)
    {
        var (inter, union) = AlignedInterUnion(BoxOps.UpcastNonFloat(boxes1), BoxOps.UpcastNonFloat(boxes2));
        return inter / (union + eps);
    }

    /// <summary>GIoU of aligned pairs: 1 - torchvision.ops.generalized_box_iou_loss.</summary>
    public static Tensor GeneralizedAligned(Tensor boxes1, Tensor boxes2, double eps = 1e-7)
    {
        boxes1 = BoxOps.UpcastNonFloat(boxes1);
        boxes2 = BoxOps.UpcastNonFloat(boxes2);
        var (inter, union) = AlignedInterUnion(boxes1, boxes2);
        var iou = inter / (union + eps);
        var (xc1, yc1, xc2, yc2) = Enclosing(boxes1, boxes2);
        var areaC = (xc2 - xc1) * (yc2 - yc1);
        return iou - (areaC - union) / (areaC + eps);
    }

    /// <summary>DIoU of aligned pairs: 1 - torchvision.ops.distance_box_iou_loss.</summary>
    public static Tensor DistanceAligned(Tensor boxes1, Tensor boxes2, double eps = 1e-7) => 1 - DistanceLoss(boxes1, boxes2, eps);

    /// <summary>torchvision.ops.distance_box_iou_loss without reduction.</summary>
    internal static Tensor DistanceLoss(Tensor boxes1, Tensor boxes2, double eps) =>
        DistanceLossAndIou(BoxOps.UpcastNonFloat(boxes1), BoxOps.UpcastNonFloat(boxes2), eps).Loss;

    /// <summary>
    /// CIoU of aligned pairs: 1 - torchvision.ops.complete_box_iou_loss. As there, the DIoU part always
    /// uses eps 1e-7 and <paramref name="eps"/> enters only alpha.
    /// </summary>
    public static Tensor CompleteAligned(Tensor boxes1, Tensor boxes2, double eps = 1e-7) => 1 - CompleteLoss(boxes1, boxes2, eps);

    /// <summary>torchvision.ops.complete_box_iou_loss without reduction.</summary>
    internal static Tensor CompleteLoss(Tensor boxes1, Tensor boxes2, double eps)
    {
        boxes1 = BoxOps.UpcastNonFloat(boxes1);
        boxes2 = BoxOps.UpcastNonFloat(boxes2);
        var (diouLoss, iou) = DistanceLossAndIou(boxes1, boxes2, 1e-7);
        var w1 = boxes1.select(-1, 2) - boxes1.select(-1, 0);
        var h1 = boxes1.select(-1, 3) - boxes1.select(-1, 1);
        var w2 = boxes2.select(-1, 2) - boxes2.select(-1, 0);
        var h2 = boxes2.select(-1, 3) - boxes2.select(-1, 1);
        var v = (atan(w2 / h2) - atan(w1 / h1)).pow(2) * (4 / (Math.PI * Math.PI));
        Tensor alpha;
        using (no_grad())
            alpha = v / (1 - iou + v + eps);
        return diouLoss + alpha * v;
    }

    static (Tensor Inter, Tensor Union) AlignedInterUnion(Tensor boxes1, Tensor boxes2)
    {
        var a = boxes1.unbind(-1);
        var g = boxes2.unbind(-1);
        var xk1 = maximum(a[0], g[0]);
        var yk1 = maximum(a[1], g[1]);
        var xk2 = minimum(a[2], g[2]);
        var yk2 = minimum(a[3], g[3]);
        var overlap = (yk2 > yk1) & (xk2 > xk1);
        var inter = where(overlap, (xk2 - xk1) * (yk2 - yk1), zeros_like(a[0]));
        var union = (a[2] - a[0]) * (a[3] - a[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter;
        return (inter, union);
    }

    static (Tensor X1, Tensor Y1, Tensor X2, Tensor Y2) Enclosing(Tensor boxes1, Tensor boxes2)
    {
        var a = boxes1.unbind(-1);
        var g = boxes2.unbind(-1);
        return (minimum(a[0], g[0]), minimum(a[1], g[1]), maximum(a[2], g[2]), maximum(a[3], g[3]));
    }

    static (Tensor Loss, Tensor Iou) DistanceLossAndIou(Tensor boxes1, Tensor boxes2, double eps)
    {
        var (inter, union) = AlignedInterUnion(boxes1, boxes2);
        var iou = inter / (union + eps);
        var (xc1, yc1, xc2, yc2) = Enclosing(boxes1, boxes2);
        var diagonal = (xc2 - xc1).pow(2) + (yc2 - yc1).pow(2) + eps;
        var a = boxes1.unbind(-1);
        var g = boxes2.unbind(-1);
        var xp = (a[2] + a[0]) / 2;
        var yp = (a[3] + a[1]) / 2;
        var xg = (g[0] + g[2]) / 2;
        var yg = (g[1] + g[3]) / 2;
        var centres = (xp - xg).pow(2) + (yp - yg).pow(2);
        return (1 - iou + centres / diagonal, iou);
    }
}

/// <summary>Which member of the IoU family a box loss is made of.</summary>
public enum IouKind
{
    Iou,
    Generalized,
    Distance,
    Complete,
}

/// <summary>
/// Box regression losses 1 - IoU-family of aligned pairs, as torchvision.ops.generalized_box_iou_loss,
/// distance_box_iou_loss and complete_box_iou_loss (same eps handling; <see cref="IouKind.Iou"/> is
/// 1 - inter / (union + eps)); reductions none / mean / sum, the mean of nothing being 0 (and still
/// part of the graph).
/// </summary>
public static class BoxIouLoss
{
    public static Tensor Compute(IouKind kind, Tensor boxes1, Tensor boxes2, nn.Reduction reduction = nn.Reduction.None, double eps = 1e-7)
    {
        var loss = kind switch
        {
            IouKind.Iou => 1 - BoxIou.Aligned(boxes1, boxes2, eps),
            IouKind.Generalized => 1 - BoxIou.GeneralizedAligned(boxes1, boxes2, eps),
            IouKind.Distance => BoxIou.DistanceLoss(boxes1, boxes2, eps),
            IouKind.Complete => BoxIou.CompleteLoss(boxes1, boxes2, eps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        return reduction switch
        {
            nn.Reduction.None => loss,
            nn.Reduction.Mean => loss.numel() > 0 ? loss.mean() : 0.0 * loss.sum(),
            nn.Reduction.Sum => loss.sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(reduction)),
        };
    }
}
