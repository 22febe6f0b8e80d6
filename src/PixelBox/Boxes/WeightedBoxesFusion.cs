namespace PixelBox.Boxes;

/// <summary>How <see cref="WeightedBoxesFusion"/> turns a cluster's scores into the fused score.</summary>
public enum WbfConfidence
{
    /// <summary>Mean score, times min(models, boxes in the cluster) / sum of model weights.</summary>
    Avg,

    /// <summary>Highest score, divided by the largest model weight.</summary>
    Max,

    /// <summary>Mean score x boxes / cluster weight x (weights of the models present) / sum of weights.</summary>
    BoxAndModelAvg,

    /// <summary>Mean score x boxes / (cluster weight + weights of the models absent from the cluster).</summary>
    AbsentModelAwareAvg,
}

/// <summary>One box given to <see cref="WeightedBoxesFusion"/>: xyxy, score, class and the model (input) it came from.</summary>
public readonly record struct WbfBox(double X1, double Y1, double X2, double Y2, double Score, long Label, int Model);

/// <summary>A fused box: xyxy, score, class, and the input boxes (indices into the input) it was made of, best first.</summary>
public sealed record WbfCluster(double X1, double Y1, double X2, double Y2, double Score, long Label, int[] Members);

/// <summary>
/// Weighted boxes fusion (Solovyev et al. 2021) with ensemble_boxes' weighted_boxes_fusion semantics:
/// <code>
///   drop boxes with score &lt; skip threshold or zero area; score_b := score_b * weight(model_b)
///   per class, boxes in decreasing weighted score:
///     join the fused box (of the clusters so far) with the highest IoU, if that IoU &gt; iou_thr, else start a cluster
///     fused box = sum(score_b * box_b) / sum(score_b) over its members, conf = mean score (Avg) or max (Max)
///   fused score rescaled (Avg): conf * min(models, members) / sum(weights)
/// </code>
/// Arithmetic as ensemble_boxes does it: float64, except that a fused box of two or more members is
/// accumulated and stored in float32 (its get_weighted_box uses a float32 array). Unlike ensemble_boxes,
/// coordinates are not clipped to [0, 1]: any unit works (the fusion is scale-free); swapped corners
/// are put in order. Ties in score: the later box first (ensemble_boxes' reversed argsort, exact for up to 16 boxes per
/// class, where numpy's sort is stable).
/// The result is sorted by decreasing fused score.
/// </summary>
public static class WeightedBoxesFusion
{
    public static WbfCluster[] Fuse(IReadOnlyList<WbfBox> boxes, IReadOnlyList<double> modelWeights, double iouThreshold = 0.55,
        double skipBoxThreshold = 0.0, WbfConfidence confidence = WbfConfidence.Avg, bool allowsOverflow = false)
    {
        double weightSum = 0, weightMax = double.NegativeInfinity;
        foreach (var w in modelWeights)
        {
            weightSum += w;
            weightMax = Math.Max(weightMax, w);
        }
        // classes in order of first appearance (ensemble_boxes' dict)
        var byLabel = new Dictionary<long, List<int>>();
        var labelOrder = new List<long>();
        var weighted = new double[boxes.Count];
        var corners = new (double X1, double Y1, double X2, double Y2)[boxes.Count];
        for (int i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            if (b.Model < 0 || b.Model >= modelWeights.Count)
                throw new ArgumentException($"box {i}: model {b.Model} has no weight ({modelWeights.Count} weights)");
            if (b.Score < skipBoxThreshold)
                continue;
            var (x1, x2) = b.X2 < b.X1 ? (b.X2, b.X1) : (b.X1, b.X2);
            var (y1, y2) = b.Y2 < b.Y1 ? (b.Y2, b.Y1) : (b.Y1, b.Y2);
            if ((x2 - x1) * (y2 - y1) == 0.0)
                continue;
            corners[i] = (x1, y1, x2, y2);
            weighted[i] = b.Score * modelWeights[b.Model];
            if (!byLabel.TryGetValue(b.Label, out var list))
            {
                byLabel[b.Label] = list = [];
                labelOrder.Add(b.Label);
            }
            list.Add(i);
        }
        var result = new List<WbfCluster>();
        foreach (var label in labelOrder)
        {
            var members = byLabel[label];
            // decreasing weighted score; ties: later first (the reverse of a stable ascending sort)
            members.Sort((a, b) => weighted[b].CompareTo(weighted[a]) is var c && c != 0 ? c : b.CompareTo(a));
            var clusters = new List<List<int>>();
            var fused = new List<Fused>();
            foreach (var i in members)
            {
                // np.argmax over the fused boxes (the first maximum); a match needs IoU > threshold
                int best = -1;
                double bestIou = double.NegativeInfinity;
                var (x1, y1, x2, y2) = corners[i];
                for (int c = 0; c < fused.Count; c++)
                {
                    double iou = Iou(fused[c], x1, y1, x2, y2);
                    if (iou > bestIou)
                        (best, bestIou) = (c, iou);
                }
                if (!(bestIou > iouThreshold))
                    best = -1;
                if (best < 0)
                {
                    clusters.Add([i]);
                    fused.Add(new Fused(x1, y1, x2, y2, weighted[i], modelWeights[boxes[i].Model]));
                }
                else
                {
                    clusters[best].Add(i);
                    fused[best] = Average(clusters[best], corners, weighted, boxes, modelWeights, confidence);
                }
            }
            for (int c = 0; c < fused.Count; c++)
            {
                var cluster = clusters[c];
                double score = fused[c].Score;
                switch (confidence)
                {
                    case WbfConfidence.BoxAndModelAvg:
                    {
                        score = score * cluster.Count / fused[c].Weight;
                        double present = cluster.Select(i => boxes[i].Model).Distinct().Order().Sum(m => modelWeights[m]);
                        score = score * present / weightSum;
                        break;
                    }
                    case WbfConfidence.AbsentModelAwareAvg:
                    {
                        var models = cluster.Select(i => boxes[i].Model).ToHashSet();
                        double absent = Enumerable.Range(0, modelWeights.Count).Where(m => !models.Contains(m)).Sum(m => modelWeights[m]);
                        score = score * cluster.Count / (fused[c].Weight + absent);
                        break;
                    }
                    case WbfConfidence.Max:
                        score /= weightMax;
                        break;
                    default:
                        score = allowsOverflow
                            ? score * cluster.Count / weightSum
                            : score * Math.Min(modelWeights.Count, cluster.Count) / weightSum;
                        break;
                }
                result.Add(new WbfCluster(fused[c].X1, fused[c].Y1, fused[c].X2, fused[c].Y2, score, label, cluster.ToArray()));
            }
        }
        // decreasing score; ties: later first, as the reversed argsort
        return result.Select((c, i) => (c, i)).OrderByDescending(p => p.c.Score).ThenByDescending(p => p.i).Select(p => p.c).ToArray();
    }

    readonly record struct Fused(double X1, double Y1, double X2, double Y2, double Score, double Weight);

    /// <summary>ensemble_boxes' bb_iou_array for one pair, in float64.</summary>
    static double Iou(Fused f, double x1, double y1, double x2, double y2)
    {
        double xa = Math.Max(f.X1, x1), ya = Math.Max(f.Y1, y1);
        double xb = Math.Min(f.X2, x2), yb = Math.Min(f.Y2, y2);
        double inter = Math.Max(xb - xa, 0) * Math.Max(yb - ya, 0);
        double areaA = (f.X2 - f.X1) * (f.Y2 - f.Y1);
        double areaB = (x2 - x1) * (y2 - y1);
        return inter / (areaA + areaB - inter);
    }

    /// <summary>get_weighted_box: float32 accumulation of score-weighted corners, float64 confidences.</summary>
    static Fused Average(List<int> cluster, (double X1, double Y1, double X2, double Y2)[] corners, double[] weighted,
        IReadOnlyList<WbfBox> boxes, IReadOnlyList<double> modelWeights, WbfConfidence confidence)
    {
        float bx1 = 0, by1 = 0, bx2 = 0, by2 = 0;
        double conf = 0, max = double.NegativeInfinity, weight = 0;
        foreach (var i in cluster)
        {
            double s = weighted[i];
            var (x1, y1, x2, y2) = corners[i];
            bx1 = (float)(bx1 + s * x1);
            by1 = (float)(by1 + s * y1);
            bx2 = (float)(bx2 + s * x2);
            by2 = (float)(by2 + s * y2);
            conf += s;
            max = Math.Max(max, s);
            weight += modelWeights[boxes[i].Model];
        }
        float score = (float)(confidence == WbfConfidence.Max ? max : conf / cluster.Count);
        return new Fused((float)(bx1 / conf), (float)(by1 / conf), (float)(bx2 / conf), (float)(by2 / conf), score, (float)weight);
    }
}
