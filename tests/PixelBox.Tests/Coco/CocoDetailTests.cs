using System.Text.Json;
using PixelBox.Coco;

namespace PixelBox.Tests.Coco;

/// <summary>The tiny case's per-image matches and IoU matrices (expected.json "detail") and hand-computed counts.</summary>
public class CocoDetailTests
{
    static (CocoEvaluator Evaluator, JsonElement Detail, JsonDocument Doc) Tiny()
    {
        var dir = SharedFiles.Fixture("coco", "tiny");
        var gt = CocoJson.ReadGroundTruth(Path.Combine(dir, "gt.json"), CocoIouType.Bbox);
        var dt = CocoJson.ReadDetections(Path.Combine(dir, "dt.json"), CocoIouType.Bbox);
        var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "expected.json")));
        return (new CocoEvaluator(gt, dt), doc.RootElement.GetProperty("bbox").GetProperty("detail"), doc);
    }

    [Fact]
    public void EvalImgsMatchPycocotools()
    {
        var (evaluator, detail, doc) = Tiny();
        using var _ = doc;
        foreach (var e in detail.GetProperty("eval_imgs").EnumerateArray())
        {
            long image = e.GetProperty("image_id").GetInt64(), category = e.GetProperty("category_id").GetInt64();
            var ours = evaluator.EvaluateImage(image, category, 0);
            Assert.NotNull(ours);
            Assert.Equal(Longs(e.GetProperty("dtIds")), ours.DtIds);
            Assert.Equal(Longs(e.GetProperty("gtIds")), ours.GtIds);
            Assert.Equal(e.GetProperty("dtScores").EnumerateArray().Select(x => x.GetDouble()), ours.DtScores);
            Assert.Equal(Rows(e.GetProperty("dtMatches")), ours.DtMatches);
            Assert.Equal(Rows(e.GetProperty("gtMatches")), ours.GtMatches);
            Assert.Equal(Rows(e.GetProperty("dtIgnore")).Select(r => r.Select(v => v != 0).ToArray()), ours.DtIgnore);
            Assert.Equal(Longs(e.GetProperty("gtIgnore")).Select(v => v != 0), ours.GtIgnore);
        }
        Assert.Null(evaluator.EvaluateImage(2, 999, 0));
    }

    [Fact]
    public void IouMatricesMatchPycocotools()
    {
        var (evaluator, detail, doc) = Tiny();
        using var _ = doc;
        foreach (var e in detail.GetProperty("ious").EnumerateArray())
        {
            var expected = e.GetProperty("iou").EnumerateArray().Select(r => r.EnumerateArray().Select(x => x.GetDouble()).ToArray()).ToArray();
            var ours = evaluator.ComputeIou(e.GetProperty("image_id").GetInt64(), e.GetProperty("category_id").GetInt64());
            Assert.Equal(expected.Length, ours.GetLength(0));
            for (int d = 0; d < expected.Length; d++)
                for (int g = 0; g < expected[d].Length; g++)
                    Assert.Equal(expected[d][g], ours[d, g]);
        }
    }

    /// <summary>
    /// Hand count at IoU .5 (see make_fixtures.py case_tiny). Person: image 1 has G1 hit by the 0.9 box
    /// (TP), its 0.8 duplicate (FP), G2 hit at IoU .85 (TP), a stray 0.3 box (FP); image 2 has the 0.85 box
    /// tying G5/G6 (TP on G6), the 0.8 box = G5 (TP), two boxes inside the crowd (ignored), one half out
    /// (IoU 100/1600 with the crowd: FP). TP 4, FP 3, FN 0. Car: a 0.95 FP, G3 hit at IoU .75 (TP), G4
    /// missed (FN), an FP on image 2: TP 1, FP 2, FN 1.
    /// </summary>
    [Fact]
    public void SimpleViewMatchesHandCount()
    {
        var (evaluator, _, doc) = Tiny();
        using var __ = doc;
        var counts = evaluator.Evaluate().CountMatches();
        var person = counts.At(0, 0.5);
        Assert.Equal((1L, 4L, 3L, 0L), (person.CategoryId, person.Tp, person.Fp, person.Fn));
        Assert.Equal(4.0 / 7, person.Precision, 15);
        Assert.Equal(1.0, person.Recall, 15);
        Assert.Equal(8.0 / 11, person.F1, 15);
        var car = counts.At(1, 0.5);
        Assert.Equal((3L, 1L, 2L, 1L), (car.CategoryId, car.Tp, car.Fp, car.Fn));
        Assert.Equal(1.0 / 3, car.Precision, 15);
        Assert.Equal(0.5, car.Recall, 15);
        Assert.Equal(0.4, car.F1, 15);
        // Person per threshold: 4/7 up to .80; at .85 the 0.85 box's IoU .818 fails (3/7); at .90 the
        // G2 hit (IoU .85) fails too (2/7); at .95 only the exact G5 box is left (1/7).
        Assert.Equal((7 * 4.0 / 7 + 3.0 / 7 + 2.0 / 7 + 1.0 / 7) / 10, counts.MeanPrecision(0), 12);
        // Car: the G3 hit (IoU .75) counts up to .75 (6 thresholds at 1/3), then 0.
        Assert.Equal(6 * (1.0 / 3) / 10, counts.MeanPrecision(1), 12);
    }

    [Fact]
    public void EmptyResultsGiveZeroApWhereThereIsGroundTruth()
    {
        var gt = CocoJson.ReadGroundTruth(SharedFiles.Fixture("coco", "edge_cases", "gt.json"), CocoIouType.Bbox);
        var dt = CocoJson.ParseDetections("[]"u8, "empty.json", CocoIouType.Bbox);
        var evaluation = new CocoEvaluator(gt, dt).Evaluate();
        var acc = evaluation.Accumulate();
        var report = CocoReport.Create(gt, evaluation, acc, CocoIouType.Bbox);
        var withGt = gt.CategoryId.ToHashSet();
        foreach (var c in report.PerCategory)
        {
            Assert.Equal(withGt.Contains(c.CategoryId) ? 0.0 : -1.0, c.Ap);
            Assert.Equal(0, c.Counts.Tp);
            Assert.Equal(0, c.Counts.Fp);
        }
        Assert.Equal(0.0, report.Summary.Stats[0]);
        Assert.Equal(0.0, report.Summary.Stats[8]);
    }

    static long[] Longs(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt64()).ToArray();
    static long[][] Rows(JsonElement e) => e.EnumerateArray().Select(Longs).ToArray();
}
