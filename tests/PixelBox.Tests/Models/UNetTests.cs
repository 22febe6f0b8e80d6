using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class UNetTests
{
    [Fact]
    public void PaperGeometryMaps572To388()
    {
        using (var paper = UNet.Paper(device: META))
            Assert.Equal(388, paper.OutputSize(572));
        // Widths do not change the geometry: a narrow net of the paper's depth runs the real ops cheaply
        // (the full-width paper net is run against the PyTorch reference in ReferenceParityTests).
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 5);
        using var x = zeros(1, 1, 572, 572);
        using var y = model.call(x);
        Assert.Equal(new long[] { 1, 2, 388, 388 }, y.shape);
    }

    [Fact]
    public void PaperSizeRuleIsInputSixteenKPlus188AndOutputInputMinus184()
    {
        // Hand derivation: bottom side b after its convs; input 16b + 124, output 16b - 60 (b >= 4).
        using var model = UNet.Paper(device: META);
        for (var size = 1; size <= 700; size++)
        {
            var valid = size >= 188 && (size - 188) % 16 == 0;
            if (valid)
                Assert.Equal(size - 184, model.OutputSize(size));
            else
                Assert.Throws<ArgumentException>(() => model.OutputSize(size));
        }
    }

    [Fact]
    public void InvalidSizeMessageNamesTheNextValidSize()
    {
        using var model = UNet.Paper(device: META);
        var e = Assert.Throws<ArgumentException>(() => model.OutputSize(571));
        Assert.Contains("next valid side is 572", e.Message);
        Assert.Equal(572, model.ValidInputSize(561));
        Assert.Equal(188, model.ValidInputSize(1));
    }

    [Fact]
    public void ForwardRejectsAnInputTheCropsCannotAlign()
    {
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 5);
        using var x = zeros(1, 1, 572, 571);
        Assert.Throws<ArgumentException>(() => model.call(x));
    }

    [Fact]
    public void SamePaddedOutputEqualsInputForMultiplesOf16()
    {
        using var model = UNet.Same(3, 3, baseWidth: 4, depth: 5);
        Assert.Equal(256, model.OutputSize(256));
        Assert.Throws<ArgumentException>(() => model.OutputSize(250));
        Assert.Equal(256, model.ValidInputSize(250));
        using var x = zeros(2, 3, 96, 160);
        using var y = model.call(x);
        Assert.Equal(new long[] { 2, 3, 96, 160 }, y.shape);
    }

    [Fact]
    public void SmallValidNetworkRunsOnCpuWithThePredictedSize()
    {
        using var model = UNet.Valid(numClasses: 3, inChannels: 2, baseWidth: 4, depth: 3);
        // depth 3: input 4b + 28 -> output 4b - 12
        Assert.Equal(20, model.OutputSize(60));
        using var x = randn(1, 2, 60, 76);
        using var y = model.call(x);
        Assert.Equal(new long[] { 1, 3, 20, 36 }, y.shape);
        Assert.True(y.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void ParameterNamesFollowTheReferenceDefinition()
    {
        using var model = UNet.Same(5, 3, baseWidth: 32, depth: 5, batchNorm: true, device: META);
        var names = model.state_dict().Keys.ToHashSet();
        // ref_models.UNet(batch_norm=True): _DoubleConv = conv, bn, relu, conv, bn, relu
        Assert.Contains("down.0.0.weight", names);
        Assert.DoesNotContain("down.0.0.bias", names);
        Assert.Contains("down.0.1.running_var", names);
        Assert.Contains("down.4.4.weight", names);
        Assert.Contains("upconv.0.weight", names);
        Assert.Contains("upconv.3.bias", names);
        Assert.Contains("up.3.3.weight", names);
        Assert.Contains("head.weight", names);
        Assert.Equal(new long[] { 512, 256, 2, 2 }, model.state_dict()["upconv.0.weight"].shape);
        Assert.Equal(new long[] { 32, 64, 3, 3 }, model.state_dict()["up.3.0.weight"].shape);
    }
}
