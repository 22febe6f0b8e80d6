using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>
/// torchvision's BoxCoder (Faster R-CNN's and SSD's box parameterisation), operation for operation:
/// <code>
///   encode (gt box g relative to reference/anchor box a; w = x2 - x1, cx = x1 + 0.5 w):
///     dx = wx (cx_g - cx_a) / w_a     dy = wy (cy_g - cy_a) / h_a
///     dw = ww log(w_g / w_a)          dh = wh log(h_g / h_a)
///   decode (codes d on anchors a):
///     dw, dh clamped above at bbox_xform_clip = log(1000 / 16)
///     cx = dx / wx * w_a + cx_a,  w = exp(dw / ww) * w_a,  box = (cx - 0.5 w, cy - 0.5 h, cx + 0.5 w, cy + 0.5 h)
/// </code>
/// The weights are the inverse of SSD's "variances": Faster R-CNN's RPN uses (1, 1, 1, 1), its box head
/// (10, 10, 5, 5), SSD (10, 10, 5, 5) (= variances 0.1, 0.2).
/// </summary>
public sealed class BoxCoder(double wx, double wy, double ww, double wh, double bboxXformClip)
{
    /// <summary>torchvision's default clip for dw, dh: log(1000 / 16).</summary>
    public static readonly double DefaultClip = Math.Log(1000.0 / 16);

    public BoxCoder(double wx, double wy, double ww, double wh) : this(wx, wy, ww, wh, DefaultClip) { }

    /// <summary>SSD's coder: weights (10, 10, 5, 5).</summary>
    public static BoxCoder Ssd() => new(10, 10, 5, 5);

    public double Wx { get; } = wx;
    public double Wy { get; } = wy;
    public double Ww { get; } = ww;
    public double Wh { get; } = wh;
    public double BboxXformClip { get; } = bboxXformClip;

    /// <summary>encode_single: codes [N, 4] of <paramref name="referenceBoxes"/> (the targets) relative to <paramref name="proposals"/> (anchors).</summary>
    public Tensor Encode(Tensor referenceBoxes, Tensor proposals)
    {
        var p = proposals.unbind(1);
        var g = referenceBoxes.unbind(1);
        var exWidths = (p[2] - p[0]).unsqueeze(1);
        var exHeights = (p[3] - p[1]).unsqueeze(1);
        var exCtrX = p[0].unsqueeze(1) + 0.5 * exWidths;
        var exCtrY = p[1].unsqueeze(1) + 0.5 * exHeights;
        var gtWidths = (g[2] - g[0]).unsqueeze(1);
        var gtHeights = (g[3] - g[1]).unsqueeze(1);
        var gtCtrX = g[0].unsqueeze(1) + 0.5 * gtWidths;
        var gtCtrY = g[1].unsqueeze(1) + 0.5 * gtHeights;
        var dx = Wx * (gtCtrX - exCtrX) / exWidths;
        var dy = Wy * (gtCtrY - exCtrY) / exHeights;
        var dw = Ww * log(gtWidths / exWidths);
        var dh = Wh * log(gtHeights / exHeights);
        return cat([dx, dy, dw, dh], 1);
    }

    /// <summary>decode_single: boxes [N, 4k] from codes [N, 4k] on <paramref name="boxes"/> [N, 4] (k boxes per anchor, e.g. one per class).</summary>
    public Tensor Decode(Tensor relCodes, Tensor boxes)
    {
        boxes = boxes.to_type(relCodes.dtype);
        var widths = boxes.select(1, 2) - boxes.select(1, 0);
        var heights = boxes.select(1, 3) - boxes.select(1, 1);
        var ctrX = boxes.select(1, 0) + 0.5 * widths;
        var ctrY = boxes.select(1, 1) + 0.5 * heights;
        long k = relCodes.shape[1] / 4;
        var codes = relCodes.reshape(relCodes.shape[0], k, 4);
        var dx = codes.select(2, 0) / Wx;
        var dy = codes.select(2, 1) / Wy;
        var dw = (codes.select(2, 2) / Ww).clamp_max(BboxXformClip);
        var dh = (codes.select(2, 3) / Wh).clamp_max(BboxXformClip);
        var predCtrX = dx * widths.unsqueeze(1) + ctrX.unsqueeze(1);
        var predCtrY = dy * heights.unsqueeze(1) + ctrY.unsqueeze(1);
        var predW = exp(dw) * widths.unsqueeze(1);
        var predH = exp(dh) * heights.unsqueeze(1);
        var halfH = 0.5 * predH;
        var halfW = 0.5 * predW;
        return stack([predCtrX - halfW, predCtrY - halfH, predCtrX + halfW, predCtrY + halfH], 2).flatten(1);
    }
}

/// <summary>
/// Anchor-free box coding by distances from a point to the four sides (FCOS, YOLOv8's dist2bbox /
/// bbox2dist): box = (px - l, py - t, px + r, py + b); distances of a box clamped to [0, regMax - 0.01]
/// for distribution focal loss (regMax bins 0..regMax-1), in units of the level's stride.
/// </summary>
public static class DistanceCoder
{
    /// <summary>dist2bbox: distances [..., 4] (l, t, r, b) around points [..., 2] to xyxy (or cxcywh) boxes.</summary>
    public static Tensor Decode(Tensor distances, Tensor points, bool cxcywh = false)
    {
        var lt = distances.narrow(-1, 0, 2);
        var rb = distances.narrow(-1, 2, 2);
        var x1y1 = points - lt;
        var x2y2 = points + rb;
        if (cxcywh)
            return cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], -1);
        return cat([x1y1, x2y2], -1);
    }

    /// <summary>bbox2dist: xyxy boxes to (l, t, r, b) distances from the points, clamped to [0, regMax - 0.01].</summary>
    public static Tensor Encode(Tensor points, Tensor boxes, int regMax)
    {
        var x1y1 = boxes.narrow(-1, 0, 2);
        var x2y2 = boxes.narrow(-1, 2, 2);
        return cat([points - x1y1, x2y2 - points], -1).clamp(0, regMax - 0.01);
    }
}
