namespace PixelBox.Coco;

/// <summary>
/// The evaluated detections of one category (all images, each image's detections sorted by score and cut
/// at the largest maxDets), with per area range bit masks over the IoU thresholds: bit t of Tp is set
/// when the detection is a true positive at threshold t, of Fp when it is a false positive; neither when
/// pycocotools ignores it. NumGt counts the non-ignored ground truth per area range.
/// </summary>
sealed class GroupResult
{
    // Tp/Fp of one detection are adjacent ([j * areas + a]): accumulate reads them in score order.
    readonly int _areas;
    /// <summary>Detections kept (at most maxDets per image); set once evaluation has filled them.</summary>
    public int Count { get; set; }
    public readonly int[] Detection;
    public readonly double[] Score;
    public readonly int[] Rank;
    public readonly uint[] Tp;
    public readonly uint[] Fp;
    public readonly int[] NumGt;
    int[]? _byScore;

    public GroupResult(int capacity, int areaRanges)
    {
        _areas = areaRanges;
        Detection = new int[capacity];
        Score = new double[capacity];
        Rank = new int[capacity];
        Tp = new uint[capacity * areaRanges];
        Fp = new uint[capacity * areaRanges];
        NumGt = new int[areaRanges];
    }

    public uint TpBits(int area, int j) => Tp[j * _areas + area];
    public uint FpBits(int area, int j) => Fp[j * _areas + area];

    public void SetBits(int area, int j, uint tp, uint fp)
    {
        Tp[j * _areas + area] = tp;
        Fp[j * _areas + area] = fp;
    }

    /// <summary>Stores one image's sorted detections from index <paramref name="start"/> (cells in image order).</summary>
    public void Set(int start, ReadOnlySpan<int> sortedDetections, double[] scores)
    {
        for (int j = 0; j < sortedDetections.Length; j++)
        {
            Detection[start + j] = sortedDetections[j];
            Score[start + j] = scores[sortedDetections[j]];
            Rank[start + j] = j;
        }
    }

    /// <summary>
    /// Positions sorted by score, highest first, stable over the image-ordered concatenation: the order
    /// of np.argsort(-dtScores, kind='mergesort') in accumulate (subsets for smaller maxDets keep it).
    /// </summary>
    public int[] ByScore()
    {
        if (_byScore is not null)
            return _byScore;
        var order = new int[Count];
        for (int i = 0; i < Count; i++)
            order[i] = i;
        StableSort.ByScoreDescending(Score, order, new ulong[Count]);
        return _byScore = order;
    }
}
