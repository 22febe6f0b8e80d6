using PixelBox.Models;
using PixelBox.Models.Backbones;
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

    /// <summary>torchvision 0.14's builders with 21 classes, counted under Python (the figures).</summary>
    [Theory]
    [InlineData("fcn-resnet50", 32_957_013)]
    [InlineData("fcn-resnet101", 51_949_141)]
    [InlineData("deeplabv3-resnet50", 39_638_869)]
    [InlineData("deeplabv3-resnet101", 58_630_997)]
    [InlineData("deeplabv3-mobilenet-v3-large", 11_025_477)]
    [InlineData("lraspp-mobilenet-v3-large", 3_221_538)]
    public void TorchVisionModelsHaveTorchVisionsCounts(string name, long expected) =>
        Assert.Equal(expected, Count(ModelRegistry.Get(name).Create(21, 3, META)));

    /// <summary>With torchvision's aux_loss=True (an FCNHead on layer3 / feature 4), counted under Python.</summary>
    [Fact]
    public void AuxiliaryHeadsAddTorchVisionsCounts()
    {
        Assert.Equal(42_004_074, Count(DeepLabV3.ResNet50(21, auxHead: true, device: META)));
        Assert.Equal(60_996_202, Count(DeepLabV3.ResNet101(21, auxHead: true, device: META)));
        Assert.Equal(11_029_328, Count(DeepLabV3.MobileNetV3Large(21, auxHead: true, device: META)));
        Assert.Equal(35_322_218, Count(FcnResNet.ResNet50(21, auxHead: true, device: META)));
        Assert.Equal(54_314_346, Count(FcnResNet.ResNet101(21, auxHead: true, device: META)));
    }

    /// <summary>SegNet in the Caffe layout of the shared ref_models.SegNet (29,455,125 under Python for 21
    /// classes: "about 29.46M"); the other zoo models as their reference definitions count them under Python
    /// (Reference/zoo_reference_models.py); HRNetV2-W48 with 19 classes is the paper's 65.9M.</summary>
    [Theory]
    [InlineData("segnet", 21, 29_455_125)]
    [InlineData("segnet", 12, 29_449_932)]
    [InlineData("deeplabv3plus-resnet50", 21, 40_352_181)]
    [InlineData("deeplabv3plus-resnet101", 21, 59_344_309)]
    [InlineData("pspnet-resnet50", 21, 46_592_597)]
    [InlineData("pspnet-resnet101", 21, 65_584_725)]
    [InlineData("hrnetv2-w18", 19, 9_641_119)]
    [InlineData("hrnetv2-w48", 19, 65_859_379)]
    [InlineData("hrnetv2-w48", 21, 65_860_821)]
    public void ZooModelsHaveTheirReferenceCounts(string name, int classes, long expected) =>
        Assert.Equal(expected, Count(ModelRegistry.Get(name).Create(classes, 3, META)));

    [Fact]
    public void PspNetAuxiliaryHeadMatchesTheReference() =>
        Assert.Equal(48_957_802, Count(PspNet.ResNet50(21, auxHead: true, device: META)));

    /// <summary>torchvision's trunks (resnet50/101 without fc, mobilenet_v3_large.features, vgg16_bn.features).</summary>
    [Fact]
    public void BackbonesHaveTorchVisionsCounts()
    {
        var outOnly = new Dictionary<string, string> { ["layer4"] = "out" };
        Assert.Equal(23_508_032, Count(ResNet.ResNet50(3, 8, outOnly, META)));
        Assert.Equal(42_500_160, Count(ResNet.ResNet101(3, 16, outOnly, META)));
        Assert.Equal(2_971_952, Count(new MobileNetV3Large(3, dilated: true, new Dictionary<int, string> { [16] = "out" }, META)));
        Assert.Equal(14_723_136, Count(new Vgg16BnEncoder(3, META)));
    }

    [Fact]
    public void InputChannelsOnlyChangeTheFirstConvolution()
    {
        // ResNet conv1 is 64 x C x 7 x 7 without bias: one more channel adds 3,136
        Assert.Equal(39_638_869 + 3_136, Count(DeepLabV3.ResNet50(21, inChannels: 4, device: META)));
        // MobileNetV3 stem 16 x C x 3 x 3: two fewer channels remove 288
        Assert.Equal(3_221_538 - 288, Count(LrAspp.MobileNetV3Large(21, inChannels: 1, device: META)));
    }
}
