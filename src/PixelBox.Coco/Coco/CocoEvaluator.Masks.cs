namespace PixelBox.Coco;

public sealed partial class CocoEvaluator
{
    void PrepareMasks() => throw new NotSupportedException("segm evaluation needs the RLE module");

    void ComputeMaskIou(ReadOnlySpan<int> gts, ReadOnlySpan<int> dets, Span<double> iou) =>
        throw new NotSupportedException("segm evaluation needs the RLE module");
}
