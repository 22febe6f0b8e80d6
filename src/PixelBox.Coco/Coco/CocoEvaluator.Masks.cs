using PixelBox.Masks;

namespace PixelBox.Coco;

public sealed partial class CocoEvaluator
{
    Rle?[] _gtMasks = [];
    Rle?[] _dtMasks = [];

    /// <summary>Masks for segm: the ones CocoMasks.Prepare made, else converted here (plain-data callers).</summary>
    void PrepareMasks()
    {
        if (_gt.Segmentation is null && _gt.Masks is null)
            throw new ArgumentException("segm evaluation needs ground-truth segmentations (read with CocoIouType.Segm)");
        if (_gt.Masks is null || (_dt.Count > 0 && _dt.Masks is null))
            CocoMasks.Prepare(_gt, "ground truth", _dt, "results");
        _gtMasks = _gt.Masks!;
        _dtMasks = _dt.Masks ?? [];
    }

    void ComputeMaskIou(ReadOnlySpan<int> gts, ReadOnlySpan<int> dets, Span<double> iou)
    {
        var gt = new Rle[gts.Length];
        var crowd = new bool[gts.Length];
        for (int g = 0; g < gts.Length; g++)
        {
            gt[g] = _gtMasks[gts[g]] ?? throw new ArgumentException($"annotation {_gt.AnnotationId[gts[g]]} has no segmentation");
            crowd[g] = _gt.IsCrowd[gts[g]];
        }
        var dt = new Rle[dets.Length];
        for (int d = 0; d < dets.Length; d++)
            dt[d] = _dtMasks[dets[d]] ?? throw new ArgumentException($"result {dets[d]} has no segmentation");
        RleOps.Iou(dt, gt, crowd, iou);
    }
}
