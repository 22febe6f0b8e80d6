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
        // every category writes all its precision/score entries (from a per-thread block, below)
        var precision = new double[T * R * K * A * M];
        var scores = new double[precision.Length];
        var recall = new double[T * K * A * M];
        Array.Fill(recall, -1.0);
        WorkSharing.For(K, () => new double[2 * T * R * A * M], (k, block) => AccumulateGroup(k, precision, scores, recall, block));
        return new CocoAccumulation(p, CategoryIds, precision, recall, scores);
    }

    /// <summary>
    /// One category of accumulate. pycocotools builds rc/pr over every detection and reads the envelope at
    /// np.searchsorted(rc, recThrs, side='left'). rc only rises at true positives, so that index is always a
    /// true positive (or the first detection), and an envelope taken over those points alone is the same:
    /// a false positive or ignored detection never has higher precision than the true positive before it.
    /// So a single pass per (area, maxDets) records, per threshold, the running TP/FP counts at each TP
    /// (plus the first detection), and the divisions run only over those points, in pycocotools' formulas.
    /// </summary>
    /// <remarks>
    /// Category k's precision and scores go to <paramref name="block"/>, laid out [T,R,A,M], then out to
    /// [T,R,K,A,M] one (t, r) run of A*M adjacent entries at a time: written there one by one, consecutive
    /// entries were K*A*M apart and almost each one touched a new cache line.
    /// </remarks>
    void AccumulateGroup(int k, double[] precision, double[] scores, double[] recall, double[] block)
    {
        var p = Params;
        var group = _groups[k];
        int T = p.IouThresholds.Length, R = p.RecallThresholds.Length, K = _groups.Length;
        int A = p.AreaRanges.Length, M = p.MaxDetections.Length;
        var recThrs = p.RecallThresholds;
        var order = group.ByScore();
        // the group's detections copied into score order, so the passes below read memory sequentially
        int count = order.Length;
        var rank = new int[count];
        var score = new double[count];
        var tpBitsSorted = new uint[A * count];
        var fpBitsSorted = new uint[A * count];
        for (int i = 0; i < count; i++)
        {
            int j = order[i];
            rank[i] = group.Rank[j];
            score[i] = group.Score[j];
            for (int a = 0; a < A; a++)
            {
                tpBitsSorted[a * count + i] = group.TpBits(a, j);
                fpBitsSorted[a * count + i] = group.FpBits(a, j);
            }
        }
        int blockSize = T * R * A * M;
        var blockPrecision = block.AsSpan(0, blockSize);
        var blockScores = block.AsSpan(blockSize, blockSize);
        blockPrecision.Fill(-1.0);
        blockScores.Fill(-1.0);
        uint all = T == 32 ? uint.MaxValue : (1u << T) - 1;
        var fpOnly = new int[T];
        var tpCount = new int[T];
        var points = new int[T];
        for (int a = 0; a < A; a++)
        {
            int npig = group.NumGt[a];
            if (npig == 0)
                continue;
            // per threshold, at most npig true positives + the first detection
            int capacity = npig + 1;
            var pointTp = new int[T * capacity];
            var pointFp = new int[T * capacity];
            var pointEntry = new int[T * capacity];
            var pr = new double[capacity];
            var rc = new double[capacity];
            for (int m = 0; m < M; m++)
            {
                int maxDet = p.MaxDetections[m];
                Array.Clear(fpOnly);
                Array.Clear(tpCount);
                Array.Clear(points);
                int fpAll = 0, nd = 0, first = -1;
                var tpRow = tpBitsSorted.AsSpan(a * count, count);
                var fpRow = fpBitsSorted.AsSpan(a * count, count);
                for (int j = 0; j < count; j++)
                {
                    if (rank[j] >= maxDet)
                        continue;
                    if (nd == 0)
                        first = j;
                    uint tpBits = tpRow[j], fpBits = fpRow[j];
                    if (fpBits == all)
                        fpAll++; // the common case: a false positive at every threshold
                    else if ((tpBits | fpBits) != 0)
                    {
                        for (uint bits = fpBits; bits != 0; bits &= bits - 1)
                            fpOnly[System.Numerics.BitOperations.TrailingZeroCount(bits)]++;
                        for (uint bits = tpBits; bits != 0; bits &= bits - 1)
                        {
                            int t = System.Numerics.BitOperations.TrailingZeroCount(bits);
                            int n = points[t]++;
                            if (n == 0 && nd > 0)
                            {
                                // the first detection is not a TP at t: rc[0] = 0, pr[0] = 0
                                pointTp[t * capacity] = 0;
                                pointFp[t * capacity] = 0;
                                pointEntry[t * capacity] = first;
                                n = points[t]++;
                            }
                            int at = t * capacity + n;
                            pointTp[at] = ++tpCount[t];
                            pointFp[at] = fpAll + fpOnly[t];
                            pointEntry[at] = j;
                        }
                    }
                    nd++;
                }
                for (int t = 0; t < T; t++)
                {
                    int n = points[t];
                    if (n == 0 && nd > 0)
                    {
                        pointTp[t * capacity] = 0;
                        pointFp[t * capacity] = 0;
                        pointEntry[t * capacity] = first;
                        n = 1;
                    }
                    for (int i = 0; i < n; i++)
                    {
                        double tp = pointTp[t * capacity + i], fp = pointFp[t * capacity + i];
                        rc[i] = tp / npig;
                        pr[i] = tp / (fp + tp + Eps);
                    }
                    recall[((t * K + k) * A + a) * M + m] = nd > 0 ? (double)tpCount[t] / npig : 0;
                    // precision envelope: each point takes the best precision at any higher recall
                    for (int i = n - 1; i > 0; i--)
                        if (pr[i] > pr[i - 1])
                            pr[i - 1] = pr[i];
                    // np.searchsorted(rc, recThrs, side='left'); thresholds past the last recall stay 0
                    int pi = 0;
                    for (int r = 0; r < R; r++)
                    {
                        while (pi < n && rc[pi] < recThrs[r])
                            pi++;
                        int at = ((t * R + r) * A + a) * M + m;
                        bool reached = pi < n;
                        blockPrecision[at] = reached ? pr[pi] : 0;
                        blockScores[at] = reached ? score[pointEntry[t * capacity + pi]] : 0;
                    }
                }
            }
        }
        int run = A * M;
        for (int tr = 0; tr < T * R; tr++)
        {
            blockPrecision.Slice(tr * run, run).CopyTo(precision.AsSpan((tr * K + k) * run, run));
            blockScores.Slice(tr * run, run).CopyTo(scores.AsSpan((tr * K + k) * run, run));
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
