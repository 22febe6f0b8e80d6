using PixelBox.Coco;

namespace PixelBox.Tests.Coco;

/// <summary>
/// The optimised accumulate (which only visits true-positive points) against a literal port of
/// pycocotools' accumulate loop run over the per-image evalImgs records: precision, recall and scores
/// (scores are not in expected.json) must agree bit for bit, also with custom maxDets.
/// </summary>
public class CocoAccumulateOracleTests
{
    [Theory]
    [InlineData("tiny", "1,10,100")]
    [InlineData("crowd", "1,10,100")]
    [InlineData("edge_cases", "1,10,100")]
    [InlineData("max_dets", "1,10,100")]
    [InlineData("max_dets", "3,50,120")]
    [InlineData("area_field", "2,5")]
    public void MatchesLiteralAccumulate(string caseName, string maxDetsText)
    {
        var dir = SharedFiles.Fixture("coco", caseName);
        var gt = CocoJson.ReadGroundTruth(Path.Combine(dir, "gt.json"), CocoIouType.Bbox);
        var dt = CocoJson.ReadDetections(Path.Combine(dir, "dt.json"), CocoIouType.Bbox);
        var evaluator = new CocoEvaluator(gt, dt, new CocoParams { MaxDetections = maxDetsText.Split(',').Select(int.Parse).ToArray() });
        var acc = evaluator.Evaluate().Accumulate();
        var (precision, recall, scores) = LiteralAccumulate(evaluator);
        CocoFixtureTests.AssertClose(precision, acc.Precision, "precision");
        CocoFixtureTests.AssertClose(recall, acc.Recall, "recall");
        CocoFixtureTests.AssertClose(scores, acc.Scores, "scores");
    }

    /// <summary>COCOeval.accumulate, statement by statement, over EvaluateImage records.</summary>
    static (double[] Precision, double[] Recall, double[] Scores) LiteralAccumulate(CocoEvaluator ev)
    {
        var p = ev.Params;
        int T = p.IouThresholds.Length, R = p.RecallThresholds.Length, K = ev.CategoryIds.Length;
        int A = p.AreaRanges.Length, M = p.MaxDetections.Length;
        var precision = Enumerable.Repeat(-1.0, T * R * K * A * M).ToArray();
        var scores = Enumerable.Repeat(-1.0, T * R * K * A * M).ToArray();
        var recall = Enumerable.Repeat(-1.0, T * K * A * M).ToArray();
        for (int k = 0; k < K; k++)
            for (int a = 0; a < A; a++)
                for (int m = 0; m < M; m++)
                {
                    int maxDet = p.MaxDetections[m];
                    var E = ev.ImageIds.Select(i => ev.EvaluateImage(i, ev.CategoryIds[k], a)).Where(e => e is not null).Select(e => e!).ToList();
                    if (E.Count == 0)
                        continue;
                    var dtScores = E.SelectMany(e => e.DtScores.Take(maxDet)).ToArray();
                    // np.argsort(-dtScores, kind='mergesort'): OrderBy is a stable sort
                    var inds = Enumerable.Range(0, dtScores.Length).OrderBy(i => -dtScores[i]).ToArray();
                    var dtScoresSorted = inds.Select(i => dtScores[i]).ToArray();
                    var dtm = new long[T][];
                    var dtIg = new bool[T][];
                    for (int t = 0; t < T; t++)
                    {
                        var row = E.SelectMany(e => e.DtMatches[t].Take(maxDet)).ToArray();
                        var ig = E.SelectMany(e => e.DtIgnore[t].Take(maxDet)).ToArray();
                        dtm[t] = inds.Select(i => row[i]).ToArray();
                        dtIg[t] = inds.Select(i => ig[i]).ToArray();
                    }
                    int npig = E.Sum(e => e.GtIgnore.Count(g => !g));
                    if (npig == 0)
                        continue;
                    for (int t = 0; t < T; t++)
                    {
                        int nd = dtScores.Length;
                        var tpSum = new double[nd];
                        var fpSum = new double[nd];
                        double tc = 0, fc = 0;
                        for (int i = 0; i < nd; i++)
                        {
                            if (dtm[t][i] != 0 && !dtIg[t][i]) tc++;
                            if (dtm[t][i] == 0 && !dtIg[t][i]) fc++;
                            tpSum[i] = tc;
                            fpSum[i] = fc;
                        }
                        var rc = tpSum.Select(x => x / npig).ToArray();
                        var pr = tpSum.Select((x, i) => x / (fpSum[i] + x + 2.220446049250313e-16)).ToArray();
                        var q = new double[R];
                        var ss = new double[R];
                        recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
                        for (int i = nd - 1; i > 0; i--)
                            if (pr[i] > pr[i - 1])
                                pr[i - 1] = pr[i];
                        for (int r = 0; r < R; r++)
                        {
                            int pi = 0; // searchsorted side='left': first index with rc[pi] >= thr
                            while (pi < nd && rc[pi] < p.RecallThresholds[r])
                                pi++;
                            if (pi >= nd)
                                break;
                            q[r] = pr[pi];
                            ss[r] = dtScoresSorted[pi];
                        }
                        for (int r = 0; r < R; r++)
                        {
                            precision[(((t * R + r) * K + k) * A + a) * M + m] = q[r];
                            scores[(((t * R + r) * K + k) * A + a) * M + m] = ss[r];
                        }
                    }
                }
        return (precision, recall, scores);
    }
}
