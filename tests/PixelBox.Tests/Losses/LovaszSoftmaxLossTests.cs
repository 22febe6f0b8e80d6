using PixelBox.Losses;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

public class LovaszSoftmaxLossTests
{
    [Fact]
    public void MatchesHandComputedTwoClassCase()
    {
        using var scope = NewDisposeScope();
        // p(class 1) = 0.9, 0.6, 0.3, 0.5 on four pixels labelled 1, 0, 1, ignored; p(class 0) = 1 - p(class 1).
        var probabilities = Float64([0.1, 0.4, 0.7, 0.5, 0.9, 0.6, 0.3, 0.5], 1, 2, 1, 4);
        var target = Labels([1, 0, 1, Ignore], 1, 1, 4);
        // Both classes have errors 0.1, 0.6, 0.7 on pixels 0, 1, 2; sorted: pixel 2, 1, 0.
        // Class 1 (fg {0, 2}): J = 1/2, 2/3, 3/3 -> steps 1/2, 1/6, 1/3.
        // Class 0 (fg {1}):    J = 1/2, 2/2, 3/3 -> steps 1/2, 1/2, 0.
        double class1 = 0.7 / 2 + 0.6 / 6 + 0.1 / 3, class0 = 0.7 / 2 + 0.6 / 2;
        AssertClose((class0 + class1) / 2, Scalar(LovaszSoftmaxLoss.FromProbabilities(probabilities, target)));
    }

    [Fact]
    public void SingleClassWithKnownErrorsIsTheirMean()
    {
        using var scope = NewDisposeScope();
        // One class, every pixel foreground: J(k) = k / P, so each step is 1/P and the loss is the mean error.
        var probabilities = Float64([0.9, 0.2, 0.6], 1, 1, 1, 3);
        var loss = LovaszSoftmaxLoss.FromProbabilities(probabilities, Labels([0, 0, 0], 1, 1, 3));
        AssertClose((0.1 + 0.8 + 0.4) / 3, Scalar(loss));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void EqualsSetFunctionDefinitionOnRandomInput(bool perImage, bool presentClassesOnly)
    {
        using var scope = NewDisposeScope();
        var random = new Random(perImage ? 21 : 22);
        const int n = 3, classes = 4, pixels = 12;
        var labels = RandomLabels(random, n * pixels, classes - 1, 0.2);   // the last class never occurs
        var logits = Float64(RandomNormal(random, n * classes * pixels, 2), n, classes, 3, 4);
        var probabilities = Values(logits.softmax(1));
        double expected = Reference(probabilities, labels, n, classes, pixels, perImage, presentClassesOnly);
        var loss = new LovaszSoftmaxLoss(perImage, presentClassesOnly).call(logits, Labels(labels, n, 3, 4));
        AssertClose(expected, Scalar(loss));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HardPredictionsGiveOneMinusMeanIoUOfPresentClasses(bool perImage)
    {
        using var scope = NewDisposeScope();
        var random = new Random(23);
        const int n = 2, classes = 3, pixels = 16;
        var labels = RandomLabels(random, n * pixels, classes, 0.15);
        var predicted = Enumerable.Range(0, n * pixels).Select(_ => random.Next(classes)).ToArray();
        var oneHot = new double[n * classes * pixels];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < pixels; i++)
                oneHot[(b * classes + predicted[b * pixels + i]) * pixels + i] = 1;

        double MeanIoULoss(IEnumerable<int> pixelIndices)
        {
            var losses = new List<double>();
            for (int c = 0; c < classes; c++)
            {
                int intersection = 0, union = 0, inTarget = 0;
                foreach (var i in pixelIndices)
                {
                    if (labels[i] == Ignore) continue;
                    bool t = labels[i] == c, p = predicted[i] == c;
                    if (t) inTarget++;
                    if (t && p) intersection++;
                    if (t || p) union++;
                }
                if (inTarget > 0) losses.Add(1 - (double)intersection / union);
            }
            return losses.Count == 0 ? 0 : losses.Average();
        }
        double expected = perImage
            ? Enumerable.Range(0, n).Average(b => MeanIoULoss(Enumerable.Range(b * pixels, pixels)))
            : MeanIoULoss(Enumerable.Range(0, n * pixels));

        var loss = LovaszSoftmaxLoss.FromProbabilities(Float64(oneHot, n, classes, 4, 4), Labels(labels, n, 4, 4), perImage);
        AssertClose(expected, Scalar(loss));
    }

    [Fact]
    public void PerfectPredictionWithMarginGivesZero()
    {
        using var scope = NewDisposeScope();
        var logits = Float64([0, -1000, -1000, 0, -1000, 0, 0, -1000], 1, 2, 2, 2);
        var target = Labels([0, 1, 1, Ignore], 1, 2, 2);
        Assert.Equal(0.0, Scalar(new LovaszSoftmaxLoss().call(logits, target)));
        Assert.Equal(0.0, Scalar(new LovaszSoftmaxLoss(perImage: true, presentClassesOnly: false).call(logits, target)));
    }

    [Fact]
    public void IgnoredPixelsAffectNeitherLossNorGradient()
    {
        AssertIgnoredPixelsIgnored((x, t) => new LovaszSoftmaxLoss().call(x, t), 3, seed: 4);
        AssertIgnoredPixelsIgnored((x, t) => new LovaszSoftmaxLoss(perImage: true, presentClassesOnly: false).call(x, t), 3, seed: 5);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void GradientMatchesFiniteDifferences(bool perImage, bool presentClassesOnly)
    {
        var random = new Random(perImage ? 31 : 32);
        const int n = 2, classes = 3, pixels = 6;
        var labels = RandomLabels(random, n * pixels, classes, 0.2);
        var logits = RandomNormal(random, n * classes * pixels, 2);
        // The loss is piecewise smooth in the errors' order: make sure no two errors sorted together lie
        // within reach of the finite-difference step.
        using (var scope = NewDisposeScope())
        {
            var probabilities = Values(Float64(logits, n, classes, 2, 3).softmax(1));
            Assert.True(SmallestErrorGap(probabilities, labels, n, classes, pixels, perImage) > 1e-4);
        }
        AssertGradientMatchesFiniteDifferences(
            x => new LovaszSoftmaxLoss(perImage, presentClassesOnly).call(x, Labels(labels, n, 2, 3)),
            logits, [n, classes, 2, 3]);
    }

    /// <summary>
    /// The loss straight from its definition, ignored pixels dropped: for each class the Lovasz extension of the
    /// Jaccard set function, sum over k of (e_(k) - e_(k+1)) * |S_k| / |fg ∪ S_k| with S_k the k largest errors.
    /// </summary>
    static double Reference(double[] probabilities, long[] labels, int n, int classes, int pixels, bool perImage, bool present)
    {
        var rows = perImage
            ? Enumerable.Range(0, n).Select(b => Enumerable.Range(b * pixels, pixels).ToArray()).ToArray()
            : [Enumerable.Range(0, n * pixels).ToArray()];
        return rows.Average(row =>
        {
            var counted = row.Where(i => labels[i] != Ignore).ToArray();
            var losses = new List<double>();
            for (int c = 0; c < classes; c++)
            {
                var fg = counted.Where(i => labels[i] == c).ToHashSet();
                if (present && fg.Count == 0) continue;
                double Error(int i) => Math.Abs((fg.Contains(i) ? 1 : 0) - probabilities[((i / pixels) * classes + c) * pixels + i % pixels]);
                var byError = counted.OrderByDescending(Error).ToArray();
                double sum = 0;
                for (int k = 1; k <= byError.Length; k++)
                {
                    var top = byError.Take(k).ToHashSet();
                    double jaccard = (double)top.Count / top.Union(fg).Count();
                    double next = k < byError.Length ? Error(byError[k]) : 0;
                    sum += (Error(byError[k - 1]) - next) * jaccard;
                }
                losses.Add(sum);
            }
            return losses.Count == 0 ? 0 : losses.Average();
        });
    }

    static double SmallestErrorGap(double[] probabilities, long[] labels, int n, int classes, int pixels, bool perImage)
    {
        double smallest = double.PositiveInfinity;
        var rows = perImage
            ? Enumerable.Range(0, n).Select(b => Enumerable.Range(b * pixels, pixels).ToArray()).ToArray()
            : [Enumerable.Range(0, n * pixels).ToArray()];
        foreach (var row in rows)
            for (int c = 0; c < classes; c++)
            {
                var errors = row.Where(i => labels[i] != Ignore)
                    .Select(i => Math.Abs((labels[i] == c ? 1 : 0) - probabilities[((i / pixels) * classes + c) * pixels + i % pixels]))
                    .Order().ToArray();
                for (int k = 1; k < errors.Length; k++)
                    smallest = Math.Min(smallest, errors[k] - errors[k - 1]);
            }
        return smallest;
    }
}
