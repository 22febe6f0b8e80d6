namespace PixelBox.Models.Detection.OverFeat;

/// <summary>
/// OverFeat's detections from its raw outputs, in plain C# (no libtorch), with the paper's greedy merging
/// (Sermanet et al. 2013, sec. 4.3) instead of NMS:
/// <code>
///   every window of every scale: class scores = softmax over background + classes; box of class c =
///     the window's corner + predicted edges x the window's side (in input pixels), clipped to the input
///   per class: windows scoring above ScoreThreshold, the CandidatesPerClass highest: the set B
///   repeat: (b1, b2) = the pair of B with the lowest match_score; stop if it is above MergeThreshold;
///           replace b1, b2 by box_merge(b1, b2), whose score is the sum of theirs
///   match_score(b1, b2) = |centre1 - centre2| / mean side + (1 - IoU(b1, b2))
///   box_merge = the mean of the coordinates of every window box merged into it
///   detections: the merged boxes, score s = sum / (1 + sum), the MaxDetections highest
/// </code>
/// The paper defines match_score as "the sum of the distance between centers of the two bounding boxes and
/// the intersection area of the boxes" without units or sign; read literally, overlapping boxes would be kept
/// apart, so this is the usual reading: a centre distance relative to the boxes' size plus a non-overlap term
/// (0 for identical boxes). The paper ranks merged boxes by the summed class outputs of their windows; the
/// map sum / (1 + sum) keeps that order while giving scores in [0, 1) (COCO results, thresholds).
/// </summary>
public sealed class OverFeatDecoder(int numClasses, OverFeatLayout layout, double mergeThreshold = 0.6) : IDetectionDecoder
{
    public double MergeThreshold { get; } = mergeThreshold;

    /// <summary>Every window (x1, y1, x2, y2) in input pixels, scale by scale, row-major; maps are the
    /// positions (rows, columns) of each scale.</summary>
    public float[] Windows(ImageSize inputSize, IReadOnlyList<(long Rows, long Columns)> maps)
    {
        var heights = layout.ScaledSides(inputSize.Height);
        var widths = layout.ScaledSides(inputSize.Width);
        if (maps.Count != heights.Length)
            throw new ArgumentException($"{maps.Count} scales of outputs for a pyramid of {heights.Length}");
        var windows = new List<float>();
        for (int s = 0; s < maps.Count; s++)
        {
            if (maps[s].Rows != layout.Positions(heights[s]) || maps[s].Columns != layout.Positions(widths[s]))
                throw new ArgumentException($"scale {s}: {maps[s].Rows}x{maps[s].Columns} positions, but a {heights[s]}x{widths[s]} pyramid image has " +
                                            $"{layout.Positions(heights[s])}x{layout.Positions(widths[s])}");
            double fy = (double)heights[s] / inputSize.Height, fx = (double)widths[s] / inputSize.Width;
            for (long i = 0; i < maps[s].Rows; i++)
                for (long j = 0; j < maps[s].Columns; j++)
                {
                    windows.Add((float)(j * layout.Stride / fx));
                    windows.Add((float)(i * layout.Stride / fy));
                    windows.Add((float)((j * layout.Stride + layout.Window) / fx));
                    windows.Add((float)((i * layout.Stride + layout.Window) / fy));
                }
        }
        return [.. windows];
    }

    public IReadOnlyList<ImageDetections> Decode(IReadOnlyList<RawOutput> outputs, ImageSize inputSize, DetectionSettings settings)
    {
        int scales = outputs.Count / 2;
        if (outputs.Count != 2 * layout.PyramidSides.Count)
            throw new ArgumentException($"{outputs.Count} raw outputs; OverFeat with {layout.PyramidSides.Count} scales gives {2 * layout.PyramidSides.Count}");
        long images = outputs[0].Shape.Length == 4 ? outputs[0].Shape[0] : -1;
        for (int s = 0; s < scales; s++)
        {
            var (logits, edges) = (outputs[s], outputs[scales + s]);
            if (logits.Shape.Length != 4 || logits.Shape[0] != images || logits.Shape[1] != numClasses + 1
                || edges.Shape.Length != 4 || edges.Shape[0] != images || edges.Shape[1] != 4L * numClasses
                || edges.Shape[2] != logits.Shape[2] || edges.Shape[3] != logits.Shape[3]
                || logits.Values.LongLength != logits.Shape.Aggregate(1L, (a, b) => a * b) || edges.Values.LongLength != edges.Shape.Aggregate(1L, (a, b) => a * b))
                throw new ArgumentException($"scale {s}: raw outputs [{string.Join(", ", logits.Shape)}] and [{string.Join(", ", edges.Shape)}]; " +
                                            $"expected [N, {numClasses + 1}, h, w] and [N, {4 * numClasses}, h, w]");
        }
        var windows = Windows(inputSize, [.. outputs.Take(scales).Select(o => (o.Shape[2], o.Shape[3]))]);
        var result = new ImageDetections[images];
        for (int n = 0; n < images; n++)
            result[n] = DecodeImage(outputs, scales, windows, n, inputSize, settings);
        return result;
    }

    ImageDetections DecodeImage(IReadOnlyList<RawOutput> outputs, int scales, float[] windows, int image, ImageSize inputSize, DetectionSettings settings)
    {
        int classes = numClasses + 1;
        float threshold = (float)settings.ScoreThreshold;
        var perClass = new List<(float Score, int Scale, int Cell, int Window)>[numClasses];
        for (int c = 0; c < numClasses; c++)
            perClass[c] = [];
        Span<float> exp = classes <= 1024 ? stackalloc float[classes] : new float[classes];
        int window = 0;
        for (int s = 0; s < scales; s++)
        {
            var logits = outputs[s].Values;
            int cells = (int)(outputs[s].Shape[2] * outputs[s].Shape[3]);
            for (int cell = 0; cell < cells; cell++, window++)
            {
                float max = float.NegativeInfinity;
                for (int k = 0; k < classes; k++)
                    max = MathF.Max(max, logits[(image * classes + k) * cells + cell]);
                float sum = 0;
                for (int k = 0; k < classes; k++)
                    sum += exp[k] = MathF.Exp(logits[(image * classes + k) * cells + cell] - max);
                for (int c = 0; c < numClasses; c++)
                {
                    float score = exp[c + 1] / sum;
                    if (score > threshold)
                        perClass[c].Add((score, s, cell, window));
                }
            }
        }

        var detections = new List<DetectedObject>();
        for (int c = 0; c < numClasses; c++)
        {
            var list = perClass[c];
            list.Sort((x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : x.Window.CompareTo(y.Window));
            int n = Math.Min(list.Count, settings.CandidatesPerClass);
            var boxes = new double[4 * n];
            var scores = new double[n];
            for (int k = 0; k < n; k++)
            {
                var (score, s, cell, w) = list[k];
                var edges = outputs[scales + s];
                int cells = (int)(edges.Shape[2] * edges.Shape[3]);
                double x0 = windows[4 * w], y0 = windows[4 * w + 1], side = windows[4 * w + 2] - x0, height = windows[4 * w + 3] - y0;
                for (int e = 0; e < 4; e++)
                {
                    double t = edges.Values[(image * 4 * numClasses + 4 * c + e) * cells + cell];
                    double value = e % 2 == 0 ? x0 + t * side : y0 + t * height;
                    boxes[4 * k + e] = Math.Clamp(value, 0, e % 2 == 0 ? inputSize.Width : inputSize.Height);
                }
                scores[k] = score;
            }
            foreach (var (box, total) in GreedyMerge(boxes, scores, MergeThreshold))
                if (box[2] > box[0] && box[3] > box[1])
                    detections.Add(new DetectedObject((float)box[0], (float)box[1], (float)box[2], (float)box[3], (float)(total / (1 + total)), c));
        }
        detections.Sort((a, b) => b.Score.CompareTo(a.Score));
        if (detections.Count > settings.MaxDetections)
            detections.RemoveRange(settings.MaxDetections, detections.Count - settings.MaxDetections);
        return new ImageDetections(detections);
    }

    /// <summary>
    /// The paper's merge loop over boxes [4n] (xyxy) and their scores: merges the pair of lowest match score
    /// while it is at most <paramref name="threshold"/>; returns each final box (the mean of its members) and
    /// its summed score. Keeps every row's best partner, so a merge costs O(n) plus the rows it disturbs.
    /// </summary>
    public static List<(double[] Box, double Score)> GreedyMerge(double[] boxes, double[] scores, double threshold)
    {
        int n = scores.Length;
        var sums = new double[4 * n];
        Array.Copy(boxes, sums, 4 * n);
        var members = new int[n];
        var total = (double[])scores.Clone();
        var active = new bool[n];
        var best = new int[n];
        var bestScore = new double[n];
        for (int i = 0; i < n; i++)
        {
            members[i] = 1;
            active[i] = true;
        }
        double[] Box(int i) => [sums[4 * i] / members[i], sums[4 * i + 1] / members[i], sums[4 * i + 2] / members[i], sums[4 * i + 3] / members[i]];
        var current = new double[n][];
        for (int i = 0; i < n; i++)
            current[i] = Box(i);
        void Rescan(int i)
        {
            (best[i], bestScore[i]) = (-1, double.PositiveInfinity);
            for (int j = 0; j < n; j++)
            {
                if (j == i || !active[j])
                    continue;
                double m = MatchScore(current[i], current[j]);
                if (m < bestScore[i])
                    (best[i], bestScore[i]) = (j, m);
            }
        }
        for (int i = 0; i < n; i++)
            Rescan(i);
        while (true)
        {
            int a = -1;
            for (int i = 0; i < n; i++)
                if (active[i] && best[i] >= 0 && (a < 0 || bestScore[i] < bestScore[a]))
                    a = i;
            if (a < 0 || bestScore[a] > threshold)
                break;
            int b = best[a];
            // b joins a: a's box becomes the mean of both boxes' members, the scores add up
            for (int e = 0; e < 4; e++)
                sums[4 * a + e] += sums[4 * b + e];
            members[a] += members[b];
            total[a] += total[b];
            active[b] = false;
            current[a] = Box(a);
            Rescan(a);
            for (int i = 0; i < n; i++)
            {
                if (!active[i] || i == a)
                    continue;
                if (best[i] == a || best[i] == b)
                    Rescan(i);
                else
                {
                    double m = MatchScore(current[i], current[a]);
                    if (m < bestScore[i])
                        (best[i], bestScore[i]) = (a, m);
                }
            }
        }
        var merged = new List<(double[], double)>();
        for (int i = 0; i < n; i++)
            if (active[i])
                merged.Add((current[i], total[i]));
        return merged;
    }

    /// <summary>Centre distance over the mean side (sqrt of area) of the two boxes, plus 1 - IoU.</summary>
    public static double MatchScore(double[] p, double[] q)
    {
        double areaP = Math.Max(0, p[2] - p[0]) * Math.Max(0, p[3] - p[1]);
        double areaQ = Math.Max(0, q[2] - q[0]) * Math.Max(0, q[3] - q[1]);
        double iw = Math.Max(0, Math.Min(p[2], q[2]) - Math.Max(p[0], q[0]));
        double ih = Math.Max(0, Math.Min(p[3], q[3]) - Math.Max(p[1], q[1]));
        double inter = iw * ih, union = areaP + areaQ - inter;
        double iou = union > 0 ? inter / union : 0;
        double side = (Math.Sqrt(areaP) + Math.Sqrt(areaQ)) / 2;
        double dx = (p[0] + p[2] - q[0] - q[2]) / 2, dy = (p[1] + p[3] - q[1] - q[3]) / 2;
        double distance = Math.Sqrt(dx * dx + dy * dy);
        return (side > 0 ? distance / side : double.PositiveInfinity) + 1 - iou;
    }
}
