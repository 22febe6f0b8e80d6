namespace PixelBox.Coco;

/// <summary>
/// Step 1's result: every image x category x area range matched (pycocotools' evalImgs, kept compact).
/// <see cref="Accumulate"/> turns it into precision/recall; <see cref="CountMatches"/> gives the simple
/// per-class TP/FP/FN view of the same matches.
/// </summary>
public sealed class CocoEvaluation
{
    readonly GroupResult[] _groups;

    internal CocoEvaluation(CocoParams parameters, long[] categoryIds, int imageCount, GroupResult[] groups)
    {
        Params = parameters;
        CategoryIds = categoryIds;
        ImageCount = imageCount;
        _groups = groups;
    }

    public CocoParams Params { get; }

    /// <summary>The K axis: evaluated category ids, sorted ([-1] when categories are pooled).</summary>
    public long[] CategoryIds { get; }

    public int ImageCount { get; }

    /// <summary>pycocotools' np.spacing(1): added to tp + fp in the precision denominator.</summary>
    const double Eps = 2.220446049250313e-16;

    /// <summary>Step 2: precision[T,R,K,A,M], recall[T,K,A,M] and scores, as COCOeval.accumulate.</summary>
    public CocoAccumulation Accumulate()
    {
        var p = Params;
        int T = p.IouThresholds.Length, R = p.RecallThresholds.Length, K = _groups.Length;
        int A = p.AreaRanges.Length, M = p.MaxDetections.Length;
        var precision = new double[T * R * K * A * M];
        var scores = new double[precision.Length];
        var recall = new double[T * K * A * M];
        Array.Fill(precision, -1.0);
        Array.Fill(scores, -1.0);
        Array.Fill(recall, -1.0);
        Parallel.For(0, K, k => AccumulateGroup(k, precision, scores, recall));
        return new CocoAccumulation(p, CategoryIds, precision, recall, scores);
    }

    void AccumulateGroup(int k, double[] precision, double[] scores, double[] recall)
    {
        var p = Params;
        var group = _groups[k];
        int T = p.IouThresholds.Length, R = p.RecallThresholds.Length, K = _groups.Length;
        int A = p.AreaRanges.Length, M = p.MaxDetections.Length;
        var recThrs = p.RecallThresholds;
        var order = group.ByScore();
        var selected = new int[group.Count];
        var rc = new double[group.Count];
        var pr = new double[group.Count];
        for (int a = 0; a < A; a++)
        {
            int npig = group.NumGt[a];
            if (npig == 0)
                continue;
            for (int m = 0; m < M; m++)
            {
                int maxDet = p.MaxDetections[m];
                int nd = 0;
                foreach (var j in order)
                    if (group.Rank[j] < maxDet)
                        selected[nd++] = j;
                for (int t = 0; t < T; t++)
                {
                    uint bit = 1u << t;
                    double tp = 0, fp = 0;
                    for (int i = 0; i < nd; i++)
                    {
                        int j = selected[i];
                        if ((group.TpBits(a, j) & bit) != 0) tp++;
                        else if ((group.FpBits(a, j) & bit) != 0) fp++;
                        rc[i] = tp / npig;
                        pr[i] = tp / (fp + tp + Eps);
                    }
                    recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
                    // precision envelope: each point takes the best precision at any higher recall
                    for (int i = nd - 1; i > 0; i--)
                        if (pr[i] > pr[i - 1])
                            pr[i - 1] = pr[i];
                    // np.searchsorted(rc, recThrs, side='left'); thresholds past the last recall stay 0
                    int pi = 0;
                    for (int r = 0; r < R; r++)
                    {
                        while (pi < nd && rc[pi] < recThrs[r])
                            pi++;
                        int at = (((t * R + r) * K + k) * A + a) * M + m;
                        bool reached = pi < nd;
                        precision[at] = reached ? pr[pi] : 0;
                        scores[at] = reached ? group.Score[selected[pi]] : 0;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The lecture's simple view from the same matches: per category and IoU threshold, TP (matched
    /// detections), FP (unmatched detections) and FN (unmatched ground truth), ignoring what COCO ignores
    /// (crowd regions, objects outside the area range), with at most maxDets detections per image.
    /// </summary>
    public CocoMatchCounts CountMatches(int areaIndex = 0, int? maxDets = null)
    {
        var p = Params;
        int limit = maxDets ?? p.MaxDetections[^1];
        int T = p.IouThresholds.Length, K = _groups.Length;
        var tp = new long[K * T];
        var fp = new long[K * T];
        var numGt = new long[K];
        for (int k = 0; k < K; k++)
        {
            var group = _groups[k];
            numGt[k] = group.NumGt[areaIndex];
            for (int j = 0; j < group.Count; j++)
            {
                if (group.Rank[j] >= limit)
                    continue;
                uint tpBits = group.TpBits(areaIndex, j), fpBits = group.FpBits(areaIndex, j);
                for (int t = 0; t < T; t++)
                {
                    if ((tpBits >> t & 1) != 0) tp[k * T + t]++;
                    if ((fpBits >> t & 1) != 0) fp[k * T + t]++;
                }
            }
        }
        return new CocoMatchCounts(p.IouThresholds, CategoryIds, tp, fp, numGt);
    }

    /// <summary>
    /// The raw (non-interpolated, possibly non-monotone) precision/recall points of category index k at
    /// threshold index t: one point per detection in score order, as accumulate computes before taking
    /// the envelope.
    /// </summary>
    public (double[] Recall, double[] Precision) RawCurve(int k, int t, int areaIndex = 0, int? maxDets = null)
    {
        var group = _groups[k];
        int limit = maxDets ?? Params.MaxDetections[^1];
        int npig = group.NumGt[areaIndex];
        var rcs = new List<double>();
        var prs = new List<double>();
        if (npig == 0)
            return ([], []);
        double tp = 0, fp = 0;
        uint bit = 1u << t;
        foreach (var j in group.ByScore())
        {
            if (group.Rank[j] >= limit)
                continue;
            bool isTp = (group.TpBits(areaIndex, j) & bit) != 0, isFp = (group.FpBits(areaIndex, j) & bit) != 0;
            if (!isTp && !isFp)
                continue;
            if (isTp) tp++;
            else fp++;
            rcs.Add(tp / npig);
            prs.Add(tp / (fp + tp + Eps));
        }
        return (rcs.ToArray(), prs.ToArray());
    }
}
