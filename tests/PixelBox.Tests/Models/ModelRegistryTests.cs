using PixelBox.Models;
using PixelBox.Models.Segmentation;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class ModelRegistryTests
{
    [Fact]
    public void ListsTheSpecNamesInOrder() =>
        Assert.Equal(
            ["unet", "unet-same", "fcn32s", "fcn16s", "fcn8s", "segnet", "fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101",
            "deeplabv3-mobilenet-v3-large", "lraspp-mobilenet-v3-large", "deeplabv3plus-resnet50", "deeplabv3plus-resnet101", "pspnet-resnet50",
            "pspnet-resnet101", "hrnetv2-w18", "hrnetv2-w48", "yolo", "yolo-n", "yolo-s", "yolo-m", "yolo-l", "yolo-x",
            "overfeat", "overfeat-fast", "yolov1", "yolov1-paper", "ssd300-vgg16", "ssdlite320-mobilenet-v3-large"],
            ModelRegistry.Names);

    [Fact]
    public void UnknownNameIsAUserErrorListingTheKnownOnes()
    {
        var e = Assert.Throws<InputException>(() => ModelRegistry.Get("unet2"));
        Assert.StartsWith("unknown model 'unet2' (known: unet, unet-same, fcn32s, fcn16s, fcn8s, segnet, fcn-resnet50, ", e.Message);
    }

    [Fact]
    public void UNetSameIsThePracticalBatchNormVariant()
    {
        using var model = ModelRegistry.Get("unet-same").CreateSegmentation(numClasses: 4, inChannels: 3, META);
        var unet = Assert.IsType<UNet>(model);
        Assert.True(unet.SamePadding);
        Assert.True(unet.BatchNorm);
        Assert.Equal([32, 64, 128, 256, 512], unet.Widths);
        Assert.Equal((4, 3), (model.NumClasses, model.InChannels));
    }

    [Fact]
    public void EveryEntryBuildsWhatItsNameSays()
    {
        foreach (var entry in ModelRegistry.All)
        {
            using var module = entry.Create(entry.DefaultNumClasses, entry.DefaultInChannels, META);
            Assert.Contains(entry.Task, new[] { ModelTasks.Segmentation, ModelTasks.Detection });
            Assert.False(string.IsNullOrWhiteSpace(entry.Paper));
            var (classes, channels) = module switch
            {
                SegmentationModel s => (s.NumClasses, s.InChannels),
                DetectionModel d => (d.NumClasses, d.InChannels),
                _ => throw new InvalidOperationException($"{entry.Name} builds a {module.GetType().Name}"),
            };
            Assert.Equal(entry.Task == ModelTasks.Segmentation, module is SegmentationModel);
            Assert.Equal((entry.DefaultNumClasses, entry.DefaultInChannels), (classes, channels));
            var model = module;
            if (entry.Name is "fcn32s" or "fcn16s" or "fcn8s")
                Assert.Equal(entry.Name, ((Fcn)model).Variant.ToString().ToLowerInvariant());
        }
    }

    /// <summary>torchvision's builder names with '-' for '_', each building the matching class.</summary>
    [Theory]
    [InlineData("fcn-resnet50", typeof(FcnResNet))]
    [InlineData("deeplabv3-resnet101", typeof(DeepLabV3))]
    [InlineData("deeplabv3-mobilenet-v3-large", typeof(DeepLabV3))]
    [InlineData("lraspp-mobilenet-v3-large", typeof(LrAspp))]
    [InlineData("segnet", typeof(SegNet))]
    [InlineData("deeplabv3plus-resnet50", typeof(DeepLabV3Plus))]
    [InlineData("pspnet-resnet50", typeof(PspNet))]
    [InlineData("hrnetv2-w48", typeof(HRNetV2))]
    public void ZooNamesBuildTheirArchitecture(string name, Type type)
    {
        using var model = ModelRegistry.Get(name).Create(5, 3, META);
        Assert.IsType(type, model);
    }

    [Fact]
    public void EverySegmentationEntryStatesItsOutputStride()
    {
        // Detectors predict at several strides (their entries state the input size rule instead).
        var strides = ModelRegistry.All.Where(e => e.Task == ModelTasks.Segmentation).ToDictionary(e => e.Name, e => e.OutputStride);
        Assert.All(strides.Values, s => Assert.NotNull(s));
        Assert.Equal(8, strides["deeplabv3-resnet50"]);
        Assert.Equal(16, strides["lraspp-mobilenet-v3-large"]);
        Assert.Equal(16, strides["deeplabv3plus-resnet101"]);
        Assert.Equal(4, strides["hrnetv2-w18"]);
        using var backbone = ((DeepLabV3)ModelRegistry.Get("deeplabv3-resnet50").Create(21, 3, META)).Backbone;
        Assert.Equal(8, backbone["out"].Stride);
    }

    /// <summary>The aux rule: the registry's default configuration has no auxiliary head.</summary>
    [Fact]
    public void RegistryModelsHaveNoAuxiliaryHead()
    {
        foreach (var name in new[] { "fcn-resnet50", "deeplabv3-resnet50", "deeplabv3-mobilenet-v3-large" })
        {
            using var model = (SimpleSegmentationModel)ModelRegistry.Get(name).Create(21, 3, META);
            Assert.False(model.HasAuxClassifier);
            Assert.DoesNotContain(model.state_dict().Keys, k => k.StartsWith("aux_classifier."));
        }
        using var psp = (PspNet)ModelRegistry.Get("pspnet-resnet50").Create(21, 3, META);
        Assert.False(psp.HasAuxClassifier);
    }
}
