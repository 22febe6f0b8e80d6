using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PixelBox.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Metrics;

public class ConfusionMatrixTests
{
    const double Tol = 1e-12;

    [Fact]
    public void LectureShipExample()
    {
        // 2 classes (0 = background, 1 = ship) on a 20x20 image: 5% ship, the model predicts background everywhere.
        var gt = new byte[400];
        for (int i = 0; i < 20; i++) gt[i * 20 + 7] = 1;
        var pred = new byte[400];
        var cm = new ConfusionMatrix(2);
        cm.Update(gt, pred);

        Assert.Equal(0.95, cm.PixelAccuracy, Tol);
        Assert.Equal(0.95, cm.IoU[0], Tol);
        Assert.Equal(0.0, cm.IoU[1], Tol);
        Assert.Equal(0.475, cm.MeanIoU, Tol);
    }

    // GT   0 0 0 0 1 1 1 2 2 2
    // pred 0 0 1 2 1 1 0 2 2 1
    // rows = GT: [2 1 1; 1 2 0; 0 1 2]; GT pixels 4 3 3, predicted pixels 3 4 3, TP 2 2 2.
    static ConfusionMatrix ThreeClassCase()
    {
        var cm = new ConfusionMatrix(3);
        cm.Update(new byte[] { 0, 0, 0, 0, 1, 1, 1, 2, 2, 2 }, new byte[] { 0, 0, 1, 2, 1, 1, 0, 2, 2, 1 });
        return cm;
    }

    [Fact]
    public void HandComputedThreeClassCase()
    {
        var cm = ThreeClassCase();
        Assert.Equal(new long[,] { { 2, 1, 1 }, { 1, 2, 0 }, { 0, 1, 2 } }, cm.ToArray());
        Assert.Equal(1, cm[1, 0]);
        Assert.Equal(10, cm.TotalPixels);
        Assert.Equal(new long[] { 4, 3, 3 }, cm.GtPixels);
        Assert.Equal(new long[] { 3, 4, 3 }, cm.PredPixels);
        Assert.Equal(new long[] { 2, 2, 2 }, cm.TruePositives);

        Assert.Equal(0.6, cm.PixelAccuracy, Tol);
        AssertClose([2 / 4.0, 2 / 3.0, 2 / 3.0], cm.ClassAccuracy);
        AssertClose([2 / 4.0, 2 / 3.0, 2 / 3.0], cm.Recall);
        AssertClose([2 / 3.0, 2 / 4.0, 2 / 3.0], cm.Precision);
        Assert.Equal((0.5 + 2 / 3.0 + 2 / 3.0) / 3, cm.MeanAccuracy, Tol);
        AssertClose([2 / 5.0, 2 / 5.0, 2 / 4.0], cm.IoU);   // TP / (GT + pred - TP)
        Assert.Equal(1.3 / 3, cm.MeanIoU, Tol);
        AssertClose([4 / 7.0, 4 / 7.0, 4 / 6.0], cm.Dice);  // 2TP / (GT + pred)
        Assert.Equal(0.4 * 0.4 + 0.3 * 0.4 + 0.3 * 0.5, cm.FrequencyWeightedIoU, Tol);
        Assert.Empty(cm.ClassesExcludedFromMeanIoU);
        Assert.Empty(cm.ClassesWithoutGt);
    }

    [Fact]
    public void ClassAbsentFromGtAndPredictionIsNaNAndLeftOutOfTheMean()
    {
        // Classes: 0, 1 present; 2 only predicted (IoU 0, counts in the mean); 3 absent from both (NaN, left out).
        var cm = new ConfusionMatrix(4);
        cm.Update(new byte[] { 0, 0, 1, 1 }, new byte[] { 0, 2, 1, 1 });

        var iou = cm.IoU;
        Assert.Equal(0.5, iou[0], Tol);
        Assert.Equal(1.0, iou[1], Tol);
        Assert.Equal(0.0, iou[2], Tol);
        Assert.True(double.IsNaN(iou[3]));
        Assert.True(double.IsNaN(cm.Dice[3]));
        Assert.Equal(1.5 / 3, cm.MeanIoU, Tol);
        Assert.Equal([3], cm.ClassesExcludedFromMeanIoU);

        Assert.True(double.IsNaN(cm.ClassAccuracy[2]));
        Assert.Equal([2, 3], cm.ClassesWithoutGt);
        Assert.Equal((0.5 + 1.0) / 2, cm.MeanAccuracy, Tol);
        Assert.Equal(0.5 * 0.5 + 0.5 * 1.0, cm.FrequencyWeightedIoU, Tol);
        Assert.True(double.IsNaN(cm.Precision[3]));
    }

    [Fact]
    public void EmptyMatrixHasNaNMetrics()
    {
        var cm = new ConfusionMatrix(3, 255);
        Assert.True(double.IsNaN(cm.PixelAccuracy));
        Assert.True(double.IsNaN(cm.MeanIoU));
        Assert.True(double.IsNaN(cm.MeanAccuracy));
        Assert.True(double.IsNaN(cm.FrequencyWeightedIoU));
        Assert.Equal([0, 1, 2], cm.ClassesExcludedFromMeanIoU);
    }

    [Fact]
    public void IgnoredGroundTruthPixelsAreSkipped()
    {
        var cm = new ConfusionMatrix(2, ignoreIndex: 255);
        cm.Update(new byte[] { 0, 255, 1, 255, 1 }, new byte[] { 0, 1, 1, 0, 0 });
        Assert.Equal(new long[,] { { 1, 0 }, { 1, 1 } }, cm.ToArray());
        Assert.Equal(2, cm.IgnoredPixels);
        Assert.Equal(3, cm.TotalPixels);

        var wide = new ConfusionMatrix(2, ignoreIndex: -100);
        wide.Update(new long[] { 0, -100, 1, -100, 1 }, new long[] { 0, 1, 1, 0, 0 });
        Assert.Equal(cm.ToArray(), wide.ToArray());
        Assert.Equal(2, wide.IgnoredPixels);
    }

    [Fact]
    public void IgnoreIndexMustNotBeAClass()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(5, ignoreIndex: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConfusionMatrix(0));
        _ = new ConfusionMatrix(5, ignoreIndex: 5);
    }

    [Fact]
    public void OutOfRangeGroundTruthThrowsWithValueAndPositionAndLeavesTheMatrixUnchanged()
    {
        var cm = ThreeClassCase();
        var before = cm.ToArray();
        var gt = new byte[] { 0, 1, 2, 7, 9 };
        var e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(gt, new byte[5]));
        Assert.Equal(7, e.Label);
        Assert.Equal(3, e.Position);
        Assert.False(e.InPrediction);
        Assert.Equal("label 7 outside [0, 3)", e.Problem);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, cm.ToArray());
    }

    [Fact]
    public void OutOfRangePredictionThrowsEvenWhereGroundTruthIsIgnored()
    {
        var cm = new ConfusionMatrix(3, ignoreIndex: 255);
        var e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(new byte[] { 0, 255, 1 }, new byte[] { 0, 255, 1 }));
        Assert.True(e.InPrediction);
        Assert.Equal(255, e.Label);
        Assert.Equal(1, e.Position);
        Assert.Contains("ignore index applies to ground truth only", e.Message);

        e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(new int[] { 0, 1, 2 }, new int[] { 0, -1, 3 }));
        Assert.Equal((-1, 1L, true), (e.Label, e.Position, e.InPrediction));
        e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(new long[] { 0, 3 }, new long[] { 0, 0 }));
        Assert.Equal((3, 1L, false), (e.Label, e.Position, e.InPrediction));
        Assert.Equal(0, cm.TotalPixels);
    }

    [Fact]
    public void FirstInvalidLabelIsReportedInLargeParallelUpdates()
    {
        var (gt, pred) = RandomLabels(new Random(5), 600_001, 19, ignore: 255, runs: true);
        gt[400_000] = 40;
        pred[500_000] = 19;
        var cm = new ConfusionMatrix(19, 255);
        var e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(gt, pred));
        Assert.Equal((40, 400_000L, false), (e.Label, e.Position, e.InPrediction));
        gt[400_000] = 3;
        e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(gt, pred));
        Assert.Equal((19, 500_000L, true), (e.Label, e.Position, e.InPrediction));
        Assert.Equal(0, cm.TotalPixels);
    }

    [Fact]
    public void MergeEqualsOneMatrixOverTheConcatenation()
    {
        var rng = new Random(11);
        var (g1, p1) = RandomLabels(rng, 1000, 6, ignore: 255, runs: false);
        var (g2, p2) = RandomLabels(rng, 777, 6, ignore: 255, runs: true);
        var a = new ConfusionMatrix(6, 255);
        a.Update(g1, p1);
        var b = new ConfusionMatrix(6, 255);
        b.Update(g2, p2);
        a.Merge(b);

        var whole = new ConfusionMatrix(6, 255);
        whole.Update([.. g1, .. g2], [.. p1, .. p2]);
        Assert.Equal(whole.ToArray(), a.ToArray());
        Assert.Equal(whole.IgnoredPixels, a.IgnoredPixels);
        Assert.Equal(whole.MeanIoU, a.MeanIoU);

        Assert.Throws<ArgumentException>(() => a.Merge(new ConfusionMatrix(5, 255)));
        Assert.Throws<ArgumentException>(() => a.Merge(new ConfusionMatrix(6)));
    }

    [Fact]
    public void ResetZeroesEverything()
    {
        var cm = new ConfusionMatrix(2, 255);
        cm.Update(new byte[] { 0, 1, 255 }, new byte[] { 1, 1, 0 });
        cm.Reset();
        Assert.Equal(0, cm.TotalPixels);
        Assert.Equal(0, cm.IgnoredPixels);
        Assert.Equal(new long[2, 2], cm.ToArray());
    }

    [Theory]
    [InlineData(1, 19, 255, false)]
    [InlineData(31, 19, 255, true)]
    [InlineData(100_003, 2, 255, true)]
    [InlineData(512 * 512 + 13, 19, 255, false)]
    [InlineData(512 * 512 + 13, 19, 255, true)]
    [InlineData(300_007, 150, -1, true)]
    [InlineData(200_001, 256, null, false)]
    [InlineData(70_001, 300, null, true)]
    public void LargeRandomInputMatchesANaiveLoop(int n, int numClasses, int? ignore, bool runs)
    {
        var (gt, pred) = RandomLabels(new Random(n + numClasses), n, Math.Min(numClasses, 256), ignore, runs);
        var (expected, expectedIgnored) = Naive(gt, pred, numClasses, ignore);

        var cm = new ConfusionMatrix(numClasses, ignore);
        cm.Update(gt, pred);
        Assert.Equal(expected, cm.ToArray());
        Assert.Equal(expectedIgnored, cm.IgnoredPixels);

        var wide = new ConfusionMatrix(numClasses, ignore);
        wide.Update(gt.Select(v => (int)v).ToArray(), pred.Select(v => (int)v).ToArray());
        Assert.Equal(expected, wide.ToArray());
        Assert.Equal(expectedIgnored, wide.IgnoredPixels);
    }

    [Property(MaxTest = 200)]
    public Property SmallInputsMatchANaiveLoop() =>
        Prop.ForAll(Gen.Choose(0, 200).SelectMany(n => Gen.Choose(0, 3).ArrayOf(n).SelectMany(g => Gen.Choose(0, 2).ArrayOf(n).Select(p => (g, p)))).ToArbitrary(),
            t =>
            {
                // Label 3 plays the ignore index for 3 classes.
                var gt = t.g.Select(v => (byte)(v == 3 ? 255 : v)).ToArray();
                var pred = t.p.Select(v => (byte)v).ToArray();
                var cm = new ConfusionMatrix(3, 255);
                cm.Update(gt, pred);
                var (expected, ignored) = Naive(gt, pred, 3, 255);
                return cm.ToArray().Cast<long>().SequenceEqual(expected.Cast<long>()) && cm.IgnoredPixels == ignored;
            });

    [Fact]
    public void TensorOverloadEqualsSpanOverload()
    {
        var (gt, pred) = RandomLabels(new Random(2), 3 * 40 * 50, 7, ignore: 255, runs: true);
        var reference = new ConfusionMatrix(7, 255);
        reference.Update(gt, pred);

        using var gtBytes = tensor(gt, [3, 40, 50]);
        using var predBytes = tensor(pred, [3, 40, 50]);
        using var gtLong = gtBytes.to_type(ScalarType.Int64);
        using var predLong = predBytes.to_type(ScalarType.Int64);
        using var gtInt = gtBytes.to_type(ScalarType.Int32);
        using var predInt = predBytes.to_type(ScalarType.Int32);
        foreach (var (g, p) in new[] { (gtBytes, predBytes), (gtLong, predLong), (gtInt, predInt), (gtBytes, predLong) })
        {
            var cm = new ConfusionMatrix(7, 255);
            cm.Update(g, p);
            Assert.Equal(reference.ToArray(), cm.ToArray());
            Assert.Equal(reference.IgnoredPixels, cm.IgnoredPixels);
        }

        // A non-contiguous view and a slice with a storage offset read the right elements.
        using var gtT = gtBytes.transpose(1, 2);
        using var predT = predBytes.transpose(1, 2);
        var transposed = new ConfusionMatrix(7, 255);
        transposed.Update(gtT, predT);
        Assert.Equal(reference.ToArray(), transposed.ToArray());

        var perImage = new ConfusionMatrix(7, 255);
        for (int i = 0; i < 3; i++)
        {
            using var g = gtLong[i];
            using var p = predLong[i];
            perImage.Update(g, p);
        }
        Assert.Equal(reference.ToArray(), perImage.ToArray());
    }

    [Fact]
    public void TensorOverloadRejectsMismatchedShapesAndFloatLabels()
    {
        var cm = new ConfusionMatrix(3);
        using var a = zeros(2, 3, dtype: ScalarType.Int64);
        using var b = zeros(3, 2, dtype: ScalarType.Int64);
        using var f = zeros(2, 3);
        Assert.Throws<ArgumentException>(() => cm.Update(a, b));
        Assert.Throws<ArgumentException>(() => cm.Update(a, f));
        using var bad = tensor(new long[] { 0, 1, 2, 3, 0, 0 }, [2, 3]);
        var e = Assert.Throws<LabelOutOfRangeException>(() => cm.Update(a, bad));
        Assert.Equal((3, 3L, true), (e.Label, e.Position, e.InPrediction));
    }

    /// <summary>Labels in [0, numClasses) with ~5% ignore pixels; with <paramref name="runs"/>, long uniform runs
    /// (as in real masks) broken by occasional changes, so the uniform-block fast path is exercised at odd offsets.</summary>
    internal static (byte[] Gt, byte[] Pred) RandomLabels(Random rng, int n, int numClasses, int? ignore, bool runs)
    {
        var gt = new byte[n];
        var pred = new byte[n];
        byte g = 0, p = 0;
        for (int i = 0; i < n; i++)
        {
            if (!runs || rng.Next(50) == 0)
            {
                g = ignore is int ig and >= 0 and < 256 && rng.Next(20) == 0 ? (byte)ig : (byte)rng.Next(numClasses);
                p = rng.Next(4) == 0 ? (byte)rng.Next(numClasses) : g == ignore ? (byte)0 : g;
            }
            gt[i] = g;
            pred[i] = p;
        }
        return (gt, pred);
    }

    static (long[,] Counts, long Ignored) Naive(byte[] gt, byte[] pred, int numClasses, int? ignore)
    {
        var m = new long[numClasses, numClasses];
        long ignored = 0;
        for (int i = 0; i < gt.Length; i++)
        {
            if (gt[i] == ignore) { ignored++; continue; }
            m[gt[i], pred[i]]++;
        }
        return (m, ignored);
    }

    static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.Equal(expected[i], actual[i], Tol);
    }
}
