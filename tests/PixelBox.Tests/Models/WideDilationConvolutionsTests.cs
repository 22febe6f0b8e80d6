using PixelBox.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>Convolutions dilated 8 or more run channels-last for speed; forward and gradients must stay those of
/// the plain convolution (float64 reference), and the output must come back contiguous.</summary>
[Collection(PixelBox.Tests.Training.TorchRandomCollection.Name)]
public class WideDilationConvolutionsTests
{
    [Theory]
    [InlineData(32, 16, 12, 20, 23)]
    [InlineData(48, 32, 36, 17, 17)] // ASPP's widest rate on a map smaller than the dilation
    [InlineData(16, 21, 8, 9, 30)]
    public void A_routed_convolution_equals_float64_forward_and_backward(int inChannels, int outChannels, int dilation, int height, int width)
    {
        var generator = new Generator(11);
        var conv = nn.Conv2d(inChannels, outChannels, 3, padding: dilation, dilation: dilation);
        using (no_grad())
            conv.weight!.copy_(torch.randn(conv.weight.shape, generator: generator).mul_(0.1));
        var model = nn.Sequential(("conv", conv));
        Assert.Equal(1, WideDilationConvolutions.Guard(model));
        Assert.Equal(0, WideDilationConvolutions.Guard(model)); // idempotent

        using var input = torch.randn([2, inChannels, height, width], generator: generator).requires_grad_();
        using var output = model.call(input);
        Assert.True(output.is_contiguous());
        using var outputGradient = torch.randn(output.shape, generator: generator);
        output.backward([outputGradient]);

        using var input64 = input.detach().to(float64).requires_grad_();
        using var weight64 = conv.weight!.detach().to(float64).requires_grad_();
        using var output64 = nn.functional.conv2d(input64, weight64, conv.bias!.detach().to(float64), padding: [dilation, dilation], dilation: [dilation, dilation]);
        output64.backward([outputGradient.to(float64)]);
        AssertClose(output64, output);
        AssertClose(input64.grad!, input.grad!);
        AssertClose(weight64.grad!, conv.weight!.grad!);
    }

    [Fact]
    public void Only_kernels_above_1x1_dilated_8_or_more_are_routed()
    {
        Assert.True(WideDilationConvolutions.IsAffected(nn.Conv2d(16, 16, 3, dilation: 8)));
        Assert.True(WideDilationConvolutions.IsAffected(nn.Conv2d(16, 16, 3, dilation: 36)));
        Assert.False(WideDilationConvolutions.IsAffected(nn.Conv2d(16, 16, 3, dilation: 6)));
        Assert.False(WideDilationConvolutions.IsAffected(nn.Conv2d(16, 16, 3, dilation: 2)));
        Assert.False(WideDilationConvolutions.IsAffected(nn.Conv2d(16, 16, 1, dilation: 12)));
    }

    [Fact]
    public void DeepLabV3s_atrous_branches_are_routed_once()
    {
        using var model = ModelRegistry.Get("deeplabv3-mobilenet-v3-large").CreateSegmentation(3, 3);
        var routed = model.modules().OfType<TorchSharp.Modules.Convolution>().Where(WideDilationConvolutions.IsGuarded).ToList();
        Assert.Equal(3, routed.Count); // rates 12, 24, 36
        Assert.Equal(0, WideDilationConvolutions.Guard(model));
    }

    static void AssertClose(Tensor expected64, Tensor actual)
    {
        var error = (expected64 - actual.to(float64)).abs().max().item<double>();
        var scale = expected64.abs().max().item<double>();
        Assert.True(error <= 1e-4 * Math.Max(1, scale), $"max error {error} (scale {scale})");
    }
}
