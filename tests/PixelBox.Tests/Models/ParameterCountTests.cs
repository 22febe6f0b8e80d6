using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>Parameter counts stated by the spec (and printed by ref_models.py under PyTorch). Built on the
/// meta device so the 135M-parameter FCNs cost no memory.</summary>
public class ParameterCountTests
{
    static long Count(nn.Module model)
    {
        using (model)
            return model.parameters().Sum(p => p.numel());
    }

    [Fact]
    public void UNetPaperHas31030658Parameters() => Assert.Equal(31_030_658, Count(UNet.Paper(1, 2, META)));

    [Fact]
    public void BenchmarkUNetHas7760229Parameters() => Assert.Equal(7_760_229, Count(UNet.Same32(5, 3, META)));

    [Theory]
    [InlineData(FcnVariant.Fcn32s, 136_152_917)]
    [InlineData(FcnVariant.Fcn16s, 134_815_994)]
    [InlineData(FcnVariant.Fcn8s, 134_489_759)]
    public void FcnWith21ClassesHasThePaperCount(FcnVariant variant, long expected) =>
        Assert.Equal(expected, Count(new Fcn(variant, 21, 3, META)));

    [Fact]
    public void MetaAndCpuModelsHaveTheSameParameters()
    {
        using var cpu = UNet.Same(4, 3, baseWidth: 8, depth: 3, batchNorm: true);
        using var meta = UNet.Same(4, 3, baseWidth: 8, depth: 3, batchNorm: true, device: META);
        var cpuShapes = cpu.state_dict().Select(kv => (kv.Key, string.Join("x", kv.Value.shape))).ToList();
        var metaShapes = meta.state_dict().Select(kv => (kv.Key, string.Join("x", kv.Value.shape))).ToList();
        Assert.Equal(cpuShapes, metaShapes);
        Assert.All(meta.parameters(), p => Assert.Equal(DeviceType.META, p.device_type));
    }

    [Fact]
    public void RegistryCreatesTheSameCountsAsTheBuilders()
    {
        Assert.Equal(31_030_658, Count(ModelRegistry.Get("unet").Create(2, 1, META)));
        Assert.Equal(134_489_759, Count(ModelRegistry.Get("fcn8s").Create(21, 3, META)));
    }
}
