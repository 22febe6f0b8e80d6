using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class FcnTests
{
    [Fact]
    public void OutputSizeIsTheInputSize()
    {
        using var model = Fcn.Fcn8s(numClasses: 3, device: META);
        foreach (var size in new[] { 1, 7, 37, 500, 1023 })
            Assert.Equal(size, model.OutputSize(size));
        Assert.Throws<ArgumentException>(() => model.OutputSize(0));
    }

    [Fact]
    public void UpsamplersStartBilinearAndScoresStartAtZero()
    {
        using var model = Fcn.Fcn8s(numClasses: 3, device: META);
        var names = model.state_dict();
        Assert.Equal(new long[] { 4096, 512, 7, 7 }, names["fc6.weight"].shape);
        Assert.Equal(new long[] { 4096, 4096, 1, 1 }, names["fc7.weight"].shape);
        Assert.Equal(new long[] { 64, 3, 3, 3 }, names["backbone.features.0.weight"].shape);
        Assert.Equal(new long[] { 512, 512, 3, 3 }, names["backbone.features.28.weight"].shape);
        Assert.Equal(new long[] { 3, 3, 16, 16 }, names["upscore8.weight"].shape);
        Assert.DoesNotContain("upscore8.bias", names.Keys);
        Assert.Contains("score_pool3.bias", names.Keys);

        using var cpu = Fcn.Fcn32s(numClasses: 2);
        var upscore = cpu.state_dict()["upscore.weight"];
        // Caffe bilinear filler, k = 64, factor 32, centre 31.5: 1D taps (1 - |i - 31.5| / 32)
        Assert.Equal(0.5f / 32 * (0.5f / 32), upscore[0, 0, 0, 0].item<float>(), 1e-7f);
        Assert.Equal((1 - 0.5f / 32) * (1 - 0.5f / 32), upscore[1, 1, 31, 32].item<float>(), 1e-6f);
        Assert.Equal(0f, upscore[0, 1].abs().max().item<float>());
        Assert.Equal(0f, cpu.state_dict()["score_fr.weight"].abs().max().item<float>());
    }

    [Fact]
    public void BilinearInitUpsamplesLinearRampsExactlyInTheInterior()
    {
        // Bilinear interpolation reproduces affine functions; channels stay separate.
        using var layer = nn.ConvTranspose2d(2, 2, kernel_size: 8, stride: 4, bias: false);
        BilinearInit.Apply(layer);
        using var rows = arange(6, dtype: float32).view(1, 1, 6, 1).expand(1, 1, 6, 6);
        using var input = cat([rows, full(1, 1, 6, 6, 5f)], dim: 1);
        using var output = layer.call(input).detach();
        Assert.Equal(new long[] { 1, 2, 28, 28 }, output.shape);
        // output pixel u sits at input coordinate (u - 3.5) / 4 (kernel centre 3.5)
        for (var u = 4; u < 24; u++)
        {
            Assert.Equal((u - 3.5f) / 4, output[0, 0, u, 10].item<float>(), 1e-5f);
            Assert.Equal(5f, output[0, 1, u, 10].item<float>(), 1e-5f);
        }
        Assert.Equal(1f, BilinearInit.Kernel(3)[1, 1]);
    }
}
