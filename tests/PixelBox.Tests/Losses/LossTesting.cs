using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

/// <summary>Tensor builders and the finite-difference gradient check shared by the loss tests.</summary>
internal static class LossTesting
{
    public const long Ignore = 255;

    public static Tensor Float64(double[] values, params long[] shape) => tensor(values, shape, dtype: ScalarType.Float64);

    public static Tensor Labels(long[] values, params long[] shape) => tensor(values, shape, dtype: ScalarType.Int64);

    /// <summary>Logits whose softmax over dim 1 is exactly the given probabilities (log p), as [N, C, 1, P]
    /// from per-pixel probability rows of one image.</summary>
    public static Tensor LogitsFromPixelProbabilities(double[][] pixelProbabilities)
    {
        int p = pixelProbabilities.Length, c = pixelProbabilities[0].Length;
        var values = new double[c * p];
        for (int i = 0; i < p; i++)
            for (int k = 0; k < c; k++)
                values[k * p + i] = Math.Log(pixelProbabilities[i][k]);
        return Float64(values, 1, c, 1, p);
    }

    public static double[] RandomNormal(Random random, int count, double scale = 1.0)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return values;
    }

    /// <summary>Random labels in [0, classes), a share of them replaced by <see cref="Ignore"/>.</summary>
    public static long[] RandomLabels(Random random, int count, int classes, double ignoredShare)
    {
        var labels = new long[count];
        for (int i = 0; i < count; i++)
            labels[i] = random.NextDouble() < ignoredShare ? Ignore : random.Next(classes);
        return labels;
    }

    public static double Scalar(Tensor t) => t.to(ScalarType.Float64).item<double>();

    public static double[] Values(Tensor t) => t.detach().to(ScalarType.Float64).contiguous().data<double>().ToArray();

    /// <summary>Value and autograd gradient of a scalar loss at <paramref name="input"/> (float64).</summary>
    public static (double Value, double[] Gradient) ValueAndGradient(Func<Tensor, Tensor> loss, double[] input, long[] shape)
    {
        using var scope = NewDisposeScope();
        var x = Float64(input, shape).requires_grad_();
        var value = loss(x);
        value.backward();
        return (Scalar(value), Values(x.grad!));
    }

    /// <summary>
    /// Asserts that autograd's gradient of a scalar loss equals central finite differences
    /// (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) in float64 for every input element, to
    /// <paramref name="relativeTolerance"/> of the larger magnitude (plus a 1e-9 floor for zero components).
    /// </summary>
    public static void AssertGradientMatchesFiniteDifferences(Func<Tensor, Tensor> loss, double[] input, long[] shape,
        double eps = 1e-6, double relativeTolerance = 1e-6)
    {
        var (_, gradient) = ValueAndGradient(loss, input, shape);
        Assert.Contains(gradient, g => Math.Abs(g) > 1e-3);   // a vanishing gradient would prove nothing
        var shifted = (double[])input.Clone();
        for (int i = 0; i < input.Length; i++)
        {
            shifted[i] = input[i] + eps;
            double up = Evaluate(loss, shifted, shape);
            shifted[i] = input[i] - eps;
            double down = Evaluate(loss, shifted, shape);
            shifted[i] = input[i];
            double numeric = (up - down) / (2 * eps);
            double tolerance = relativeTolerance * Math.Max(Math.Abs(numeric), Math.Abs(gradient[i])) + 1e-9;
            Assert.True(Math.Abs(numeric - gradient[i]) <= tolerance,
                $"element {i}: autograd {gradient[i]:R}, finite differences {numeric:R}");
        }
    }

    static double Evaluate(Func<Tensor, Tensor> loss, double[] input, long[] shape)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return Scalar(loss(Float64(input, shape)));
    }

    /// <summary>
    /// Asserts that logits at ignored pixels matter to nothing: rewriting them leaves the loss and the gradient
    /// at every other pixel unchanged, and their own gradient is 0. Input [2, classes, 3, 3], ~30% ignored.
    /// </summary>
    public static void AssertIgnoredPixelsIgnored(Func<Tensor, Tensor, Tensor> loss, int classes, int seed)
    {
        var random = new Random(seed);
        long[] shape = [2, classes, 3, 3];
        int pixels = 2 * 9;
        var labels = RandomLabels(random, pixels, classes, 0.3);
        Assert.Contains(Ignore, labels);
        var logits = RandomNormal(random, pixels * classes);
        var rewritten = (double[])logits.Clone();
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < classes; c++)
                for (int i = 0; i < 9; i++)
                    if (labels[n * 9 + i] == Ignore)
                        rewritten[(n * classes + c) * 9 + i] = 20 * random.NextDouble() - 10;

        Tensor WithLabels(Tensor x) => loss(x, Labels(labels, 2, 3, 3));
        var (value, gradient) = ValueAndGradient(WithLabels, logits, shape);
        var (valueRewritten, gradientRewritten) = ValueAndGradient(WithLabels, rewritten, shape);

        AssertClose(value, valueRewritten, 1e-14);
        for (int n = 0; n < 2; n++)
            for (int c = 0; c < classes; c++)
                for (int i = 0; i < 9; i++)
                {
                    int at = (n * classes + c) * 9 + i;
                    if (labels[n * 9 + i] == Ignore)
                    {
                        Assert.Equal(0.0, gradient[at]);
                        Assert.Equal(0.0, gradientRewritten[at]);
                    }
                    else
                    {
                        AssertClose(gradient[at], gradientRewritten[at], 1e-14);
                    }
                }
        Assert.Contains(gradient, g => g != 0);
    }

    public static void AssertClose(double expected, double actual, double tolerance = 1e-12)
        => Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected)),
            $"expected {expected:R}, got {actual:R}");
}
