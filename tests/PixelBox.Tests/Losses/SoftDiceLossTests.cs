using PixelBox.Losses;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

public class SoftDiceLossTests
{
    [Fact]
    public void MatchesHandComputedTwoClassCase()
    {
        using var scope = NewDisposeScope();
        // Pixels (p0, p1): (0.8, 0.2) class 0, (0.4, 0.6) class 1, (0.9, 0.1) ignored.
        var logits = LogitsFromPixelProbabilities([[0.8, 0.2], [0.4, 0.6], [0.9, 0.1]]);
        var target = Labels([0, 1, Ignore], 1, 1, 3);
        // class 0: I = 0.8, sum p = 1.2, sum y = 1; class 1: I = 0.6, sum p = 0.8, sum y = 1; smooth 1.
        double dice0 = (2 * 0.8 + 1) / (1.2 + 1 + 1), dice1 = (2 * 0.6 + 1) / (0.8 + 1 + 1);
        AssertClose(1 - (dice0 + dice1) / 2, Scalar(new SoftDiceLoss().call(logits, target)));
    }

    [Fact]
    public void AbsentClassCountsByDefaultAndIsDroppedWhenOnlyPresentClassesAreTaken()
    {
        using var scope = NewDisposeScope();
        var logits = LogitsFromPixelProbabilities([[0.7, 0.2, 0.1], [0.25, 0.5, 0.25]]);
        var target = Labels([0, 1], 1, 1, 2);
        // Class 2 has no target pixel and predicted mass 0.35.
        double all = 1 - ((2 * 0.7 + 1) / (0.95 + 1 + 1) + (2 * 0.5 + 1) / (0.7 + 1 + 1) + 1 / (0.35 + 1)) / 3;
        double presentNoSmooth = 1 - (2 * 0.7 / (0.95 + 1) + 2 * 0.5 / (0.7 + 1)) / 2;
        AssertClose(all, Scalar(new SoftDiceLoss().call(logits, target)));
        AssertClose(presentNoSmooth, Scalar(new SoftDiceLoss(smooth: 0, presentClassesOnly: true).call(logits, target)));
    }

    [Fact]
    public void HardPredictionsGiveOneMinusMeanDiceCoefficient()
    {
        using var scope = NewDisposeScope();
        var random = new Random(17);
        const int n = 2, classes = 3, pixels = 16;
        var labels = RandomLabels(random, n * pixels, classes, 0.15);
        var predicted = Enumerable.Range(0, n * pixels).Select(_ => random.Next(classes)).ToArray();
        // float64 logits 0 / -1000: softmax is exactly one-hot at the predicted class.
        var logits = new double[n * classes * pixels];
        for (int b = 0; b < n; b++)
            for (int c = 0; c < classes; c++)
                for (int i = 0; i < pixels; i++)
                    logits[(b * classes + c) * pixels + i] = predicted[b * pixels + i] == c ? 0 : -1000;

        var dice = new List<double>();
        for (int c = 0; c < classes; c++)
        {
            int both = 0, inTarget = 0, inPrediction = 0;
            for (int i = 0; i < n * pixels; i++)
            {
                if (labels[i] == Ignore) continue;
                if (labels[i] == c) inTarget++;
                if (predicted[i] == c) inPrediction++;
                if (labels[i] == c && predicted[i] == c) both++;
            }
            if (inTarget > 0) dice.Add(2.0 * both / (inTarget + inPrediction));
        }
        var loss = new SoftDiceLoss(smooth: 0, presentClassesOnly: true).call(Float64(logits, n, classes, 4, 4), Labels(labels, n, 4, 4));
        AssertClose(1 - dice.Average(), Scalar(loss));
    }

    [Fact]
    public void PerfectPredictionWithMarginGivesZero()
    {
        using var scope = NewDisposeScope();
        var logits = Float64([0, -1000, -1000, 0, -1000, 0, 0, -1000], 1, 2, 2, 2);
        var target = Labels([0, 1, 1, Ignore], 1, 2, 2);
        Assert.Equal(0.0, Scalar(new SoftDiceLoss().call(logits, target)));
    }

    [Fact]
    public void AllPixelsIgnoredWithPresentClassesOnlyGivesZero()
    {
        var (value, gradient) = ValueAndGradient(
            x => new SoftDiceLoss(smooth: 0, presentClassesOnly: true).call(x, Labels([Ignore, Ignore], 1, 1, 2)),
            [0.1, 0.2, 0.3, 0.4], [1, 2, 1, 2]);
        Assert.Equal(0.0, value);
        Assert.All(gradient, g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void IgnoredPixelsAffectNeitherLossNorGradient()
        => AssertIgnoredPixelsIgnored((x, t) => new SoftDiceLoss().call(x, t), 3, seed: 3);

    [Theory]
    [InlineData(1.0, false)]
    [InlineData(0.0, true)]
    public void GradientMatchesFiniteDifferences(double smooth, bool presentClassesOnly)
    {
        var random = new Random(9);
        var labels = RandomLabels(random, 2 * 2 * 2, 3, 0.25);
        AssertGradientMatchesFiniteDifferences(
            x => new SoftDiceLoss(smooth, presentClassesOnly).call(x, Labels(labels, 2, 2, 2)),
            RandomNormal(random, 2 * 3 * 2 * 2), [2, 3, 2, 2]);
    }

    [Fact]
    public void RejectsZeroSmoothOverAllClasses() => Assert.Throws<ArgumentException>(() => new SoftDiceLoss(smooth: 0));
}
