using System.Numerics;

namespace PixelBox.Boxes;

/// <summary>How Soft-NMS decays the score of a box that overlaps a selected one.</summary>
public enum SoftNmsMethod
{
    /// <summary>score *= 1 - IoU when IoU &gt; Nt (else unchanged).</summary>
    Linear,

    /// <summary>score *= exp(-IoU^2 / sigma), whatever the IoU.</summary>
    Gaussian,

    /// <summary>score *= 0 when IoU &gt; Nt: classic NMS inside the same loop.</summary>
    Hard,
}

/// <summary>A Soft-NMS survivor: its index in the input and its decayed score.</summary>
public readonly record struct SoftNmsResult<T>(int Index, T Score);

/// <summary>
/// Soft-NMS (Bodla et al. 2017, "Improving Object Detection With One Line of Code"), following the
/// authors' reference implementation (cpu_soft_nms) step for step, in the boxes' precision:
/// <code>
///   for i = 0 .. N-1:
///     swap the highest-scoring box of positions i..N-1 (the first one on ties) into position i
///     for every later box p that overlaps it (intersection width and height &gt; 0):
///       score_p *= weight(IoU)          Linear: IoU &gt; Nt ? 1 - IoU : 1;  Gaussian: exp(-IoU^2 / sigma);  Hard: IoU &gt; Nt ? 0 : 1
///       if score_p &lt; threshold: move the last box into p's place, N -= 1
///   survivors: positions 0 .. N-1, in selection order
/// </code>
/// Differences from the reference: coordinates are continuous (areas (x2 - x1)(y2 - y1), as torchvision
/// and COCO), not pixel-inclusive with +1; a survivor reports its input index (the reference returns
/// positions in its own shuffled array). As there, a box whose score starts below the threshold and
/// never overlaps a selected box survives: filter scores first if that matters.
/// </summary>
public static class SoftNms
{
    /// <param name="boxes">xyxy, 4 numbers per box.</param>
    /// <param name="scores">One per box.</param>
    /// <param name="method">Decay.</param>
    /// <param name="iouThreshold">Nt (Linear, Hard).</param>
    /// <param name="sigma">Gaussian width.</param>
    /// <param name="scoreThreshold">Boxes decayed below this are dropped (the reference's 0.001).</param>
    public static SoftNmsResult<T>[] Run<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, SoftNmsMethod method,
        double iouThreshold = 0.3, double sigma = 0.5, double scoreThreshold = 0.001)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        if (boxes.Length != 4 * n)
            throw new ArgumentException($"boxes must hold 4 numbers per score: {boxes.Length} numbers for {n} scores");
        // the reference's parameters are C floats when the boxes are: round them to T
        T nt = T.CreateChecked(iouThreshold), sg = T.CreateChecked(sigma), threshold = T.CreateChecked(scoreThreshold);
        var rows = new Row<T>[n];
        for (int i = 0; i < n; i++)
            rows[i] = new Row<T>(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], scores[i], i);
        int count = n;
        for (int i = 0; i < count; i++)
        {
            int maxPos = i;
            T maxScore = rows[i].Score;
            for (int p = i + 1; p < count; p++)
                if (maxScore < rows[p].Score)
                    (maxScore, maxPos) = (rows[p].Score, p);
            (rows[i], rows[maxPos]) = (rows[maxPos], rows[i]);
            var t = rows[i];
            T tArea = (t.X2 - t.X1) * (t.Y2 - t.Y1);
            for (int p = i + 1; p < count; p++)
            {
                ref var r = ref rows[p];
                T area = (r.X2 - r.X1) * (r.Y2 - r.Y1);
                T iw = RefMin(t.X2, r.X2) - RefMax(t.X1, r.X1);
                if (!(iw > T.Zero))
                    continue;
                T ih = RefMin(t.Y2, r.Y2) - RefMax(t.Y1, r.Y1);
                if (!(ih > T.Zero))
                    continue;
                T union = tArea + area - iw * ih;
                T iou = iw * ih / union;
                T weight = method switch
                {
                    SoftNmsMethod.Linear => iou > nt ? T.One - iou : T.One,
                    SoftNmsMethod.Gaussian => T.CreateChecked(Math.Exp(double.CreateChecked(-(iou * iou) / sg))),
                    _ => iou > nt ? T.Zero : T.One,
                };
                r.Score = weight * r.Score;
                if (r.Score < threshold)
                {
                    r = rows[count - 1];
                    count--;
                    p--;
                }
            }
        }
        var result = new SoftNmsResult<T>[count];
        for (int i = 0; i < count; i++)
            result[i] = new SoftNmsResult<T>(rows[i].Index, rows[i].Score);
        return result;
    }

    // The reference's inline max/min: a >= b ? a : b and a <= b ? a : b.
    static T RefMax<T>(T a, T b) where T : IFloatingPointIeee754<T> => a >= b ? a : b;

    static T RefMin<T>(T a, T b) where T : IFloatingPointIeee754<T> => a <= b ? a : b;

    struct Row<T>(T x1, T y1, T x2, T y2, T score, int index)
    {
        public T X1 = x1, Y1 = y1, X2 = x2, Y2 = y2, Score = score;
        public int Index = index;
    }
}
