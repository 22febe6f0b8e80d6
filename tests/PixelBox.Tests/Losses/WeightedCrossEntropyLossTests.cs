using PixelBox.Losses;
using TorchSharp;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

public class WeightedCrossEntropyLossTests
{
    // Three pixels of one image with known softmax probabilities; the last one is ignored.
    static readonly double[][] Probabilities = [[0.7, 0.2, 0.1], [0.25, 0.5, 0.25], [0.1, 0.1, 0.8]];
    static readonly long[] Targets = [0, 2, Ignore];
    static readonly double[] Weights = [1, 2, 3];

    [Fact]
    public void MatchesHandComputedWeightedNegativeLogLikelihood()
    {
        using var scope = NewDisposeScope();
        var logits = LogitsFromPixelProbabilities(Probabilities);
        var target = Labels(Targets, 1, 1, 3);
        // l = -sum_c a_c y_c log p_c: pixel 0 is class 0 (a = 1, p = 0.7), pixel 1 class 2 (a = 3, p = 0.25).
        double first = -1 * Math.Log(0.7), second = -3 * Math.Log(0.25);

        var none = Values(new WeightedCrossEntropyLoss(Weights, reduction: nn.Reduction.None).call(logits, target));
        Assert.Equal(3, none.Length);
        AssertClose(first, none[0]);
        AssertClose(second, none[1]);
        Assert.Equal(0.0, none[2]);
        AssertClose(first + second, Scalar(new WeightedCrossEntropyLoss(Weights, reduction: nn.Reduction.Sum).call(logits, target)));
        // PyTorch's weighted mean divides by the weights of the counted targets: a_0 + a_2 = 4, not by 2 pixels.
        AssertClose((first + second) / (1 + 3), Scalar(new WeightedCrossEntropyLoss(Weights).call(logits, target)));
        AssertClose((-Math.Log(0.7) - Math.Log(0.25)) / 2, Scalar(new WeightedCrossEntropyLoss().call(logits, target)));
    }

    [Theory]
    [InlineData(true, 255L)]
    [InlineData(false, 255L)]
    [InlineData(true, 1L)]
    public void MeanEqualsLibtorchCrossEntropyWithWeightAndIgnoreIndex(bool weighted, long ignoreIndex)
    {
        using var scope = NewDisposeScope();
        var random = new Random(11);
        var logits = Float64(RandomNormal(random, 2 * 4 * 3 * 5, 2), 2, 4, 3, 5);
        var labels = RandomLabels(random, 2 * 3 * 5, 4, 0.2).Select(l => l == Ignore ? ignoreIndex : l).ToArray();
        var target = Labels(labels, 2, 3, 5);
        double[]? weights = weighted ? [0.5, 2, 1, 3] : null;
        var reference = nn.functional.cross_entropy(logits, target, weighted ? Float64(weights!, 4) : null, ignoreIndex);
        var ours = new WeightedCrossEntropyLoss(weights, ignoreIndex).call(logits, target);
        AssertClose(Scalar(reference), Scalar(ours));
    }

    [Fact]
    public void ClassificationShapeNByCIsSupported()
    {
        using var scope = NewDisposeScope();
        var logits = Float64([2, 0, -1, 0.5, 0.5, 3], 2, 3);
        var target = Labels([0, 2], 2);
        double expected = (-Math.Log(Math.Exp(2) / (Math.Exp(2) + 1 + Math.Exp(-1)))
                           - Math.Log(Math.Exp(3) / (2 * Math.Exp(0.5) + Math.Exp(3)))) / 2;
        AssertClose(expected, Scalar(new WeightedCrossEntropyLoss().call(logits, target)));
    }

    [Fact]
    public void AllPixelsIgnoredGivesZeroAndNoGradientInsteadOfNaN()
    {
        var (value, gradient) = ValueAndGradient(
            x => new WeightedCrossEntropyLoss(Weights).call(x, Labels([Ignore, Ignore], 1, 1, 2)),
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [1, 3, 1, 2]);
        Assert.Equal(0.0, value);
        Assert.All(gradient, g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void IgnoredPixelsAffectNeitherLossNorGradient()
        => AssertIgnoredPixelsIgnored((x, t) => new WeightedCrossEntropyLoss([0.5, 1, 2]).call(x, t), 3, seed: 1);

    [Theory]
    [InlineData(nn.Reduction.Mean)]
    [InlineData(nn.Reduction.Sum)]
    public void GradientMatchesFiniteDifferences(nn.Reduction reduction)
    {
        var random = new Random(5);
        var labels = RandomLabels(random, 2 * 2 * 2, 3, 0.25);
        AssertGradientMatchesFiniteDifferences(
            x => new WeightedCrossEntropyLoss([0.5, 1, 2], reduction: reduction).call(x, Labels(labels, 2, 2, 2)),
            RandomNormal(random, 2 * 3 * 2 * 2), [2, 3, 2, 2]);
    }

    [Fact]
    public void RejectsBadInput()
    {
        using var scope = NewDisposeScope();
        var logits = Float64(new double[6], 1, 3, 1, 2);
        var loss = new WeightedCrossEntropyLoss();
        Assert.Throws<ArgumentException>(() => loss.call(logits, Labels([0, 3], 1, 1, 2)));       // label = C
        Assert.Throws<ArgumentException>(() => loss.call(logits, Labels([0, -1], 1, 1, 2)));      // negative label
        Assert.Throws<ArgumentException>(() => loss.call(logits, Labels([0, 1, 2], 1, 1, 3)));    // shape
        Assert.Throws<ArgumentException>(() => loss.call(logits, tensor(new[] { 0f, 1f }).view(1, 1, 2)));  // dtype
        Assert.Throws<ArgumentException>(() => new WeightedCrossEntropyLoss([1, 2]).call(logits, Labels([0, 1], 1, 1, 2)));
        Assert.Throws<ArgumentException>(() => new WeightedCrossEntropyLoss([1, -2, 1]));
    }
}
