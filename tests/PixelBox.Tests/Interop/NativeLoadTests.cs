using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Interop;

/// <summary>Fails loudly if the build's libLibTorchSharp.so fix (build/PatchLibTorchSharp.targets) stops working.</summary>
public class NativeLoadTests
{
    [Fact]
    public void TorchSharpNativesLoadAndAConvolutionRuns()
    {
        using var x = ones(1, 1, 5, 5);
        using var w = ones(1, 1, 3, 3);
        using var y = nn.functional.conv2d(x, w);
        Assert.Equal(new long[] { 1, 1, 3, 3 }, y.shape);
        Assert.Equal(9f, y[0, 0, 1, 1].item<float>());
    }
}
