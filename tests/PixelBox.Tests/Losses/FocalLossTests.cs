using PixelBox.Losses;
using TorchSharp;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

public class FocalLossTests
{
    static readonly double[][] Probabilities = [[0.7, 0.2, 0.1], [0.25, 0.5, 0.25], [0.1, 0.1, 0.8]];
    static readonly long[] Targets = [0, 2, Ignore];
    static readonly double[] Alpha = [1, 2, 3];

    [Fact]
    public void MatchesHandComputedFocalTerms()
    {
        using var scope = NewDisposeScope();
        var logits = LogitsFromPixelProbabilities(Probabilities);
        var target = Labels(Targets, 1, 1, 3);
        // FL = -sum_c (1 - p_c)^gamma a_c y_c log p_c, gamma = 2.
        double first = -Math.Pow(1 - 0.7, 2) * 1 * Math.Log(0.7);
        double second = -Math.Pow(1 - 0.25, 2) * 3 * Math.Log(0.25);

        var none = Values(new FocalLoss(2, Alpha, reduction: nn.Reduction.None).call(logits, target));
        AssertClose(first, none[0]);
        AssertClose(second, none[1]);
        Assert.Equal(0.0, none[2]);
        AssertClose(first + second, Scalar(new FocalLoss(2, Alpha, reduction: nn.Reduction.Sum).call(logits, target)));
        AssertClose((first + second) / (1 + 3), Scalar(new FocalLoss(2, Alpha).call(logits, target)));
    }

    [Theory]
    [InlineData(nn.Reduction.None)]
    [InlineData(nn.Reduction.Sum)]
    [InlineData(nn.Reduction.Mean)]
    public void GammaZeroIsTheWeightedCrossEntropyValueAndGradient(nn.Reduction reduction)
    {
        var random = new Random(3);
        long[] shape = [2, 4, 3, 3];
        var labels = RandomLabels(random, 2 * 9, 4, 0.2);
        var logits = RandomNormal(random, 2 * 4 * 9, 3);
        double[] alpha = [0.25, 1, 2, 0.5];
        Tensor Total(Tensor loss) => reduction == nn.Reduction.None ? loss.sum() : loss;

        var (focal, focalGradient) = ValueAndGradient(
            x => Total(new FocalLoss(0, alpha, reduction: reduction).call(x, Labels(labels, 2, 3, 3))), logits, shape);
        var (ce, ceGradient) = ValueAndGradient(
            x => Total(new WeightedCrossEntropyLoss(alpha, reduction: reduction).call(x, Labels(labels, 2, 3, 3))), logits, shape);

        AssertClose(ce, focal, 1e-13);
        for (int i = 0; i < ceGradient.Length; i++)
            AssertClose(ceGradient[i], focalGradient[i], 1e-13);
        if (reduction == nn.Reduction.None)
        {
            using var scope = NewDisposeScope();
            var x = Float64(logits, shape);
            var t = Labels(labels, 2, 3, 3);
            var perPixelFocal = Values(new FocalLoss(0, alpha, reduction: reduction).call(x, t));
            var perPixelCe = Values(new WeightedCrossEntropyLoss(alpha, reduction: reduction).call(x, t));
            Assert.Equal(labels.Length, perPixelFocal.Length);
            for (int i = 0; i < perPixelCe.Length; i++)
                AssertClose(perPixelCe[i], perPixelFocal[i], 1e-13);
        }
    }

    [Fact]
    public void ConfidentPixelsKeepAFiniteGradientForGammaBelowOne()
    {
        // p_t rounds to 1 in float32 here; (1 - p_t)^0.5 alone would give 0 * inf = NaN in the backward pass.
        using var scope = NewDisposeScope();
        var x = tensor(new[] { 40f, 0f, 0f, 0f, 1f, 0f }, [2, 3]).requires_grad_();
        var loss = new FocalLoss(0.5).call(x, Labels([0, 1], 2));
        loss.backward();
        Assert.True(double.IsFinite(Scalar(loss)));
        Assert.All(Values(x.grad!), g => Assert.True(double.IsFinite(g)));
    }

    [Fact]
    public void IgnoredPixelsAffectNeitherLossNorGradient()
        => AssertIgnoredPixelsIgnored((x, t) => new FocalLoss(2, [0.5, 1, 2]).call(x, t), 3, seed: 2);

    [Theory]
    [InlineData(2.0, nn.Reduction.Mean)]
    [InlineData(0.5, nn.Reduction.Mean)]
    [InlineData(1.0, nn.Reduction.Sum)]
    public void GradientMatchesFiniteDifferences(double gamma, nn.Reduction reduction)
    {
        var random = new Random(7);
        var labels = RandomLabels(random, 2 * 2 * 2, 3, 0.25);
        AssertGradientMatchesFiniteDifferences(
            x => new FocalLoss(gamma, [0.5, 1, 2], reduction: reduction).call(x, Labels(labels, 2, 2, 2)),
            RandomNormal(random, 2 * 3 * 2 * 2), [2, 3, 2, 2]);
    }

    [Fact]
    public void RejectsNegativeGamma() => Assert.Throws<ArgumentOutOfRangeException>(() => new FocalLoss(-1));
}
