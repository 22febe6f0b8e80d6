using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>
/// Our models against the shared PyTorch reference definitions (ref_models.py run under PyTorch 1.13 by
/// Models/Reference/make_reference_outputs.py), both filled with the same formula weights: same state
/// names and shapes, same outputs. This pins the FCN crop offsets, the U-Net crop/concat order and the
/// transposed-convolution layouts, which shape checks alone cannot.
/// </summary>
public class ReferenceParityTests
{
    /// <param name="moreSizes">Extra input sides (h, w) whose output must have exactly the predicted size.</param>
    static void AssertMatchesReference(string caseName, SegmentationModel model, params (int H, int W)[] moreSizes)
    {
        using (model)
        {
            var reference = ReferenceWeights.Load(caseName);
            var ours = ReferenceWeights.Fill(model);
            Assert.Equal(reference.State.Select(s => s.Name).Order(), ours.Select(s => s.Name).Order());
            var shapes = ours.ToDictionary(s => s.Name, s => s.Shape);
            foreach (var (name, shape) in reference.State)
                Assert.True(shape.SequenceEqual(shapes[name]), $"{name}: ours {string.Join("x", shapes[name])}, reference {string.Join("x", shape)}");

            model.eval();
            using var noGrad = no_grad();
            using var input = ReferenceWeights.Value("input", reference.InputShape, "input");
            using var output = model.call(input);
            using var expected = reference.Output;
            Assert.Equal(reference.OutputShape, output.shape);
            var absMax = expected.abs().max().item<float>();
            var maxDiff = (output - expected).abs().max().item<float>();
            // libtorch 2.10 kernels differ from torch 1.13's: compare with the shared fixtures' tolerance
            Assert.True(maxDiff <= 1e-4f * Math.Max(1f, absMax), $"{caseName}: max |diff| {maxDiff}, absmax {absMax}");

            foreach (var (h, w) in moreSizes)
            {
                using var x = zeros(1, model.InChannels, h, w);
                using var y = model.call(x);
                Assert.Equal(new long[] { 1, model.NumClasses, model.OutputSize(h), model.OutputSize(w) }, y.shape);
            }
        }
    }

    [Theory]
    [InlineData(FcnVariant.Fcn32s, "fcn32s_c3")]
    [InlineData(FcnVariant.Fcn16s, "fcn16s_c3")]
    [InlineData(FcnVariant.Fcn8s, "fcn8s_c3")]
    public void FcnMatchesTheCaffeLayoutReferenceAndOutputsTheInputSize(FcnVariant variant, string caseName) =>
        AssertMatchesReference(caseName, new Fcn(variant, numClasses: 3), (1, 1), (64, 64), (100, 7));

    [Fact]
    public void PaperUNetMatchesTheReference() =>
        AssertMatchesReference("unet_paper_c2", UNet.Paper(inChannels: 1, numClasses: 2));

    [Fact]
    public void SamePaddedBatchNormUNetMatchesTheReference() =>
        AssertMatchesReference("unet_same32_bn_c5", UNet.Same(5, 3, baseWidth: 32, depth: 5, batchNorm: true));
}
