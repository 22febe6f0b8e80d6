using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>
/// oneDNN 3.7.1 (libtorch 2.10) computes some convolutions with channel counts that are not multiples of
/// 16 wrongly on AVX-512 CPUs (see ChannelTailConvolutions). These compare guarded convolutions in float32,
/// forward and both gradients, with the same convolution in float64, which oneDNN does not run.
/// On a CPU without AVX-512 they pass with or without the guard. They set torch's process-wide thread count
/// (oneDNN splits the work differently on 2 threads), so they run apart from the parallel tests.
/// </summary>
[Collection(PixelBox.Tests.Training.TorchRandomCollection.Name)]
public class ChannelTailConvolutionsTests
{
    [Theory]
    // in, out, kernel, stride, padding; each line failed unguarded on an AVX-512 host:
    [InlineData(false, 8, 8, 3, 1, 1)]     // input gradient (out_channels 8): kernel taps dropped, NaN from stale memory
    [InlineData(false, 16, 8, 3, 1, 1)]    // the U-Net width 8 decoder convolution
    [InlineData(false, 4, 5, 5, 1, 2)]
    [InlineData(false, 24, 24, 3, 1, 1)]   // forward wrong too (in_channels > 16, not a multiple of 16)
    [InlineData(false, 17, 32, 3, 2, 1)]   // forward of a strided convolution
    [InlineData(true, 8, 8, 3, 1, 1)]      // transposed: forward is the convolution's input gradient
    [InlineData(true, 21, 21, 4, 2, 1)]    // FCN's 2x upsampler for 21 classes: input gradient wrong
    [InlineData(true, 48, 24, 2, 2, 0)]    // the U-Net width 12 up-convolution: input gradient wrong
    // 1x1 convolutions stay NCHW: routed to channels-last, these forwards were wrong (relative error ~0.5)
    [InlineData(false, 270, 270, 1, 1, 0)] // HRNetV2-W18's head
    [InlineData(false, 18, 36, 1, 1, 0)]
    [InlineData(false, 36, 72, 1, 2, 0)]   // HRNet's strided 1x1 shortcut shapes
    [InlineData(false, 144, 19, 1, 1, 0)]
    [InlineData(false, 8, 5, 1, 1, 0)]     // the small U-Net head (8 -> 5 classes)
    [InlineData(false, 32, 5, 1, 1, 0)]
    public void Guarded_convolutions_match_float64(bool transposed, int inChannels, int outChannels, int kernel, int stride, int padding)
    {
        var previousThreads = torch.get_num_threads();
        try
        {
            foreach (var threads in new[] { 1, 2 })
            {
                torch.set_num_threads(threads);
                CompareWithFloat64(transposed, inChannels, outChannels, kernel, stride, padding, $"{threads} threads");
            }
        }
        finally
        {
            torch.set_num_threads(previousThreads);
        }
    }

    static void CompareWithFloat64(bool transposed, int inChannels, int outChannels, int kernel, int stride, int padding, string setting)
    {
        var generator = new Generator(42);
        Convolution conv = transposed
            ? nn.ConvTranspose2d(inChannels, outChannels, kernel, stride: stride, padding: padding)
            : nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: padding);
        using (no_grad())
        {
            conv.weight!.copy_(torch.randn(conv.weight.shape, generator: generator).mul_(0.2));
            conv.bias!.copy_(torch.randn(conv.bias.shape, generator: generator));
        }
        var model = nn.Sequential(("conv", conv));
        Assert.Equal(ChannelTailConvolutions.IsAffected(conv) ? 1 : 0, ChannelTailConvolutions.Guard(model));

        using var input = torch.randn([4, inChannels, 24, 24], generator: generator).requires_grad_();
        using var output = model.call(input);
        using var outputGradient = torch.randn(output.shape, generator: generator);
        output.backward([outputGradient]);

        using var input64 = input.detach().to(float64).requires_grad_();
        using var weight64 = conv.weight!.detach().to(float64).requires_grad_();
        using var bias64 = conv.bias!.detach().to(float64);
        long[] strides = [stride, stride], paddings = [padding, padding];
        using var output64 = transposed
            ? nn.functional.conv_transpose2d(input64, weight64, bias64, strides, paddings)
            : nn.functional.conv2d(input64, weight64, bias64, strides, paddings);
        output64.backward([outputGradient.to(float64)]);

        AssertClose(output64, output, $"output ({setting})");
        AssertClose(input64.grad!, input.grad!, $"input gradient ({setting})");
        AssertClose(weight64.grad!, conv.weight!.grad!, $"weight gradient ({setting})");
    }

    [Fact]
    public void The_default_unet_keeps_the_fast_path_for_all_but_its_first_convolution()
    {
        using var model = UNet.Same(5, 3, baseWidth: 32, depth: 5, batchNorm: true, device: META);
        var affected = model.named_modules()
            .Where(m => m.module is Convolution c && ChannelTailConvolutions.IsAffected(c))
            .Select(m => m.name)
            .Order()
            .ToList();
        Assert.Equal(["down.0.0"], affected); // the 1x1 head (32 -> 5) stays NCHW
    }

    public static TheoryData<string> RegistryModels => [.. ModelRegistry.Names];

    /// <summary>Every model of the registry, segmentation and detection, built with an odd class count so that
    /// its heads have channel tails too: each affected convolution is routed when the constructor returns.</summary>
    [Theory]
    [MemberData(nameof(RegistryModels))]
    public void Every_registry_model_routes_all_its_affected_convolutions(string name)
    {
        using var model = ModelRegistry.Get(name).Create(numClasses: 5, inChannels: 3, device: META);
        var affected = model.named_modules().Where(m => m.module is Convolution c && ChannelTailConvolutions.IsAffected(c)).ToList();
        Assert.NotEmpty(affected);
        Assert.All(affected, m => Assert.True(ChannelTailConvolutions.IsGuarded((Convolution)m.module), $"{name}: {m.name} is not routed"));
    }

    static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.True(actual.isfinite().all().item<bool>(), $"{what} is not finite");
        var scale = expected.abs().max().item<double>();
        var error = (actual.to(float64) - expected).abs().max().item<double>();
        Assert.True(error <= 1e-4 * scale, $"{what}: max error {error:G3} against float64 (scale {scale:G3})");
    }
}
