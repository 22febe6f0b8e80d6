using PixelBox.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>oneDNN 3.7.1 crashes the process in the backward pass of some strided 1x1 convolutions (ResNet-50's
/// 512 -> 1024 stage-3 shortcut); guarded, they train through an exact stride-1 equivalent.</summary>
[Collection(PixelBox.Tests.Training.TorchRandomCollection.Name)]
public class StridedPointwiseConvolutionsTests
{
    [Theory]
    [InlineData(512, 1024, 7, 8)] // crashed the test host unguarded (SIGSEGV in brg_blocking_t::est_eff_1x1)
    [InlineData(64, 128, 9, 9)]
    [InlineData(24, 40, 10, 7)]
    public void A_guarded_strided_1x1_convolution_trains_and_equals_float64(int inChannels, int outChannels, int height, int width)
    {
        var generator = new Generator(7);
        var conv = nn.Conv2d(inChannels, outChannels, 1, stride: 2);
        using (no_grad())
            conv.weight!.copy_(torch.randn(conv.weight.shape, generator: generator).mul_(0.1));
        var model = nn.Sequential(("conv", conv));
        Assert.Equal(1, StridedPointwiseConvolutions.Guard(model));
        Assert.Equal(0, StridedPointwiseConvolutions.Guard(model)); // idempotent

        using var input = torch.randn([2, inChannels, height, width], generator: generator).requires_grad_();
        using var output = model.call(input);
        Assert.Equal(new long[] { 2, outChannels, (height + 1) / 2, (width + 1) / 2 }, output.shape);
        using var outputGradient = torch.randn(output.shape, generator: generator);
        output.backward([outputGradient]);

        using var input64 = input.detach().to(float64).requires_grad_();
        using var weight64 = conv.weight!.detach().to(float64).requires_grad_();
        using var output64 = nn.functional.conv2d(input64, weight64, conv.bias!.detach().to(float64), [2, 2]);
        output64.backward([outputGradient.to(float64)]);
        AssertClose(output64, output);
        AssertClose(input64.grad!, input.grad!);
        AssertClose(weight64.grad!, conv.weight!.grad!);

        using var noGrad = no_grad();
        using var inference = model.call(input); // inference keeps the direct convolution
        AssertClose(output64, inference);
    }

    [Fact]
    public void Only_unpadded_strided_1x1_convolutions_are_routed()
    {
        Assert.True(StridedPointwiseConvolutions.IsAffected(nn.Conv2d(8, 8, 1, stride: 2)));
        Assert.False(StridedPointwiseConvolutions.IsAffected(nn.Conv2d(8, 8, 1)));
        Assert.False(StridedPointwiseConvolutions.IsAffected(nn.Conv2d(8, 8, 3, stride: 2, padding: 1)));
        Assert.False(StridedPointwiseConvolutions.IsAffected(nn.Conv2d(8, 8, 1, stride: 2, padding: 1)));
    }

    static void AssertClose(Tensor expected, Tensor actual)
    {
        using var difference = (actual.to(float64) - expected).abs().max();
        var scale = Math.Max(1, expected.abs().max().item<double>());
        Assert.True(difference.item<double>() <= 1e-4 * scale, $"max |diff| {difference.item<double>()} (scale {scale})");
    }
}
