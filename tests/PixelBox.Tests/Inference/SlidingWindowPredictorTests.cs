using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Inference;

/// <summary>
/// A stack of convolutions with zero padding that takes any side: 1x1 kernels (each output pixel depends on its
/// input pixel only) or 3x3 kernels (on the pixels within <see cref="Reach"/> of it), random weights and a ReLU
/// between layers, so a tile's output equals the whole image's wherever the tile holds the pixel's reach.
/// </summary>
internal sealed class ConvStack : SegmentationModel
{
    readonly TorchSharp.Modules.Sequential layers;

    public ConvStack(int kernel, int depth, int classes = 3, long seed = 1) : base(nameof(ConvStack), classes, 3)
    {
        torch.manual_seed(seed);
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < depth; i++)
        {
            modules.Add(($"conv{i}", nn.Conv2d(i == 0 ? 3 : 6, i == depth - 1 ? classes : 6, kernel, padding: kernel / 2)));
            if (i < depth - 1)
                modules.Add(($"relu{i}", nn.ReLU()));
        }
        layers = nn.Sequential(modules);
        Reach = depth * (kernel / 2);
        RegisterComponents();
        eval();
    }

    /// <summary>How far from an output pixel its inputs lie.</summary>
    public int Reach { get; }

    public override int OutputSize(int inputSize) => inputSize;

    public override Tensor forward(Tensor input) => layers.forward(input);

    public static SegmentationModelInfo Info(int classes = 3) =>
        new("conv-stack", classes, 3, [.. Enumerable.Range(0, classes).Select(k => $"c{k}")], Normalization.ImageNet, 255);
}

public class SlidingWindowPredictorTests
{
    static RgbImage RandomImage(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        new Random(seed).NextBytes(pixels);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The model on the whole image in one torch call: [classes, H, W], the reference.</summary>
    static float[] WholeImageLogits(SegmentationModel model, RgbImage image, Normalization normalization)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = tensor(normalization.ToChw(image.Pixels, image.Width, image.Height), [1, 3, image.Height, image.Width]);
        return PixelBox.Interop.TensorValues.ToArray<float>(model.forward(input).contiguous());
    }

    /// <summary>All rows the sliding window hands out, gathered into [classes, H, W]; checks they come top to bottom once each.</summary>
    static float[] SlidingLogits(SlidingWindowPredictor predictor, RgbImage image)
    {
        var logits = new float[predictor.Classes * image.Height * image.Width];
        int next = 0;
        predictor.Predict(image, rows =>
        {
            Assert.Equal(next, rows.Top);
            next += rows.Rows;
            for (int k = 0; k < rows.Classes; k++)
                for (int i = 0; i < rows.Rows; i++)
                    rows.Row(k, i).CopyTo(logits.AsSpan((k * image.Height + rows.Top + i) * image.Width, image.Width));
        });
        Assert.Equal(image.Height, next);
        return logits;
    }

    static float MaxDifference(float[] a, float[] b) => a.Zip(b).Max(p => Math.Abs(p.First - p.Second));

    static SlidingWindowPredictor Sliding(SegmentationPredictor predictor, SlidingWindowOptions options, TestTimeAugmentation? tta = null) =>
        new((tta ?? TestTimeAugmentation.None).Wrap(predictor.PredictLogits, 3, predictor.Info.NumClasses),
            predictor.Info.NumClasses, predictor.Info.Normalization, options);

    [Theory]
    [InlineData(WindowBlend.Gaussian, 70, 53, 24, 10)] // sides that are no multiple of the tile or the stride
    [InlineData(WindowBlend.Linear, 70, 53, 24, 10)]
    [InlineData(WindowBlend.Gaussian, 41, 16, 16, 16)] // no overlap; one tile row exactly the image height
    [InlineData(WindowBlend.Linear, 90, 11, 32, 7)] // the image lower than a tile: one row of tiles 11 high
    public void Pointwise_model_stitched_equals_the_whole_image_pass(WindowBlend blend, int width, int height, int tile, int stride)
    {
        using var model = new ConvStack(kernel: 1, depth: 3);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(width, height, width * 7 + height);
        var expected = WholeImageLogits(model, image, predictor.Info.Normalization);
        var sliding = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(tile, stride, blend, BatchSize: 3)), image);
        var scale = expected.Max(Math.Abs);
        Assert.True(MaxDifference(sliding, expected) <= 1e-5f * scale, $"max diff {MaxDifference(sliding, expected)} (scale {scale})");
    }

    [Fact]
    public void Spatial_model_stitched_equals_the_whole_image_pass_when_the_margin_covers_its_reach()
    {
        using var model = new ConvStack(kernel: 3, depth: 3);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(83, 61, 3);
        var expected = WholeImageLogits(model, image, predictor.Info.Normalization);
        var scale = expected.Max(Math.Abs);
        foreach (var blend in new[] { WindowBlend.Gaussian, WindowBlend.Linear })
        {
            var covered = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(32, 24, blend, Margin: model.Reach)), image);
            Assert.True(MaxDifference(covered, expected) <= 1e-5f * scale, $"{blend}: max diff {MaxDifference(covered, expected)}");
            // without the margin, tile edges inside the image see zero padding instead of their neighbours: the check can fail
            var uncovered = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(32, 24, blend)), image);
            Assert.True(MaxDifference(uncovered, expected) > 1e-4f * scale, $"{blend}: the tile edges went unnoticed");
        }
    }

    [Fact]
    public void An_image_no_larger_than_a_tile_goes_through_the_model_whole_bit_for_bit()
    {
        using var model = new ConvStack(kernel: 3, depth: 2);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(30, 20, 4);
        var expected = predictor.PredictLogits(image);
        Assert.Equal(expected, SlidingLogits(Sliding(predictor, new SlidingWindowOptions(32, 16)), image));
    }

    [Theory]
    [InlineData(100, 32, 16)]
    [InlineData(100, 32, 32)]
    [InlineData(33, 32, 5)]
    [InlineData(1000, 256, 128)]
    [InlineData(32, 32, 7)]
    public void Positions_are_evenly_spread_from_0_to_the_far_edge_no_further_apart_than_the_stride(int side, int tile, int stride)
    {
        var positions = SlidingWindowPredictor.Positions(side, tile, stride);
        Assert.Equal(0, positions[0]);
        Assert.Equal(Math.Max(0, side - tile), positions[^1]);
        var steps = positions.Zip(positions.Skip(1), (a, b) => b - a).ToList();
        Assert.All(steps, step => Assert.InRange(step, 1, stride));
        if (steps.Count > 0)
            Assert.True(steps.Max() - steps.Min() <= 1, "evenly spaced");
        // one tile fewer would leave a gap wider than the stride
        Assert.Equal(side <= tile ? 1 : (int)Math.Ceiling((side - tile) / (double)stride) + 1, positions.Length);
    }

    [Theory]
    [InlineData(WindowBlend.Gaussian, 64)]
    [InlineData(WindowBlend.Linear, 64)]
    [InlineData(WindowBlend.Linear, 5)]
    public void Blend_weights_are_positive_symmetric_and_largest_in_the_centre(WindowBlend blend, int side)
    {
        var weights = SlidingWindowPredictor.BlendWeights(blend, side);
        Assert.All(weights, w => Assert.True(w > 0));
        Assert.Equal(weights, weights.Reverse());
        Assert.InRange(weights.Max(), 0.99f, 1f); // 1 at the centre; an even side has two pixels half a pixel off it
        if (blend == WindowBlend.Gaussian) // sigma = side / 8: 65 / 8 = 8.125, and 8 pixels from the centre exp(-8^2 / (2 sigma^2))
            Assert.Equal(Math.Exp(-64 / (2 * 8.125 * 8.125)), SlidingWindowPredictor.BlendWeights(blend, 65)[32 + 8], 1e-6);
        else
            Assert.True(weights[0] < weights[1], "a tent rises from the edge");
    }

    [Fact]
    public void Flip_TTA_is_the_average_of_the_flipped_passes_flipped_back()
    {
        using var model = new ConvStack(kernel: 3, depth: 2);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(23, 17, 5);
        var tta = new TestTimeAugmentation(HorizontalFlip: true, VerticalFlip: true, [1.0]);
        var augmented = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(int.MaxValue, int.MaxValue), tta), image);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(predictor.Info.Normalization.ToChw(image.Pixels, 23, 17), [1, 3, 17, 23]);
        var passes = new long[][] { [], [3], [2], [2, 3] }
            .Select(dims => dims.Length == 0 ? model.forward(x) : model.forward(x.flip(dims)).flip(dims));
        var expected = PixelBox.Interop.TensorValues.ToArray<float>(stack(passes.ToList()).mean([0]).contiguous());
        Assert.True(MaxDifference(augmented, expected) <= 1e-5f * expected.Max(Math.Abs), $"max diff {MaxDifference(augmented, expected)}");
        // the flips matter for this model: the plain pass differs
        Assert.True(MaxDifference(WholeImageLogits(model, image, predictor.Info.Normalization), expected) > 1e-3f);
    }

    [Fact]
    public void Scale_TTA_resizes_each_pass_back_to_the_image_as_torch_interpolate_does()
    {
        using var model = new ConvStack(kernel: 3, depth: 2);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(29, 18, 6);
        var scales = new[] { 0.75, 1.0, 1.25 };
        var tta = new TestTimeAugmentation(false, false, scales);
        var augmented = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(int.MaxValue, int.MaxValue), tta), image);
        Assert.Equal(3 * 18 * 29, augmented.Length);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = tensor(predictor.Info.Normalization.ToChw(image.Pixels, 29, 18), [1, 3, 18, 29]);
        var passes = scales.Select(s =>
        {
            long[] size = [(long)Math.Round(18 * s), (long)Math.Round(29 * s)];
            var scaled = s == 1 ? x : nn.functional.interpolate(x, size, mode: InterpolationMode.Bilinear, align_corners: false);
            var logits = model.forward(scaled);
            return s == 1 ? logits : nn.functional.interpolate(logits, [18, 29], mode: InterpolationMode.Bilinear, align_corners: false);
        });
        var expected = PixelBox.Interop.TensorValues.ToArray<float>(stack(passes.ToList()).mean([0]).contiguous());
        Assert.True(MaxDifference(augmented, expected) <= 1e-4f * expected.Max(Math.Abs), $"max diff {MaxDifference(augmented, expected)}");
    }

    [Fact]
    public void TTA_composes_with_tiling()
    {
        // For a pointwise model every pass and every tile equals the plain pixel values: TTA over tiles changes nothing.
        using var model = new ConvStack(kernel: 1, depth: 2);
        using var predictor = new SegmentationPredictor(model, ConvStack.Info());
        var image = RandomImage(50, 37, 7);
        var tta = new TestTimeAugmentation(true, true, [1.0]);
        var expected = WholeImageLogits(model, image, predictor.Info.Normalization);
        var augmented = SlidingLogits(Sliding(predictor, new SlidingWindowOptions(16, 12), tta), image);
        Assert.True(MaxDifference(augmented, expected) <= 1e-5f * expected.Max(Math.Abs));
    }

    [Fact]
    public void Bad_windows_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new SlidingWindowOptions(16, 17).Validate());
        Assert.Throws<ArgumentException>(() => new SlidingWindowOptions(16, 0).Validate());
        Assert.Throws<ArgumentException>(() => new SlidingWindowOptions(16, 8, Margin: 5).Validate());
        new SlidingWindowOptions(16, 8, Margin: 4).Validate();
    }
}
