using PixelBox.Models;
using PixelBox.Models.Segmentation;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class ModelRegistryTests
{
    [Fact]
    public void ListsTheSpecNamesInOrder() =>
        Assert.Equal(["unet", "unet-same", "fcn32s", "fcn16s", "fcn8s", "yolo", "yolo-n", "yolo-s", "yolo-m", "yolo-l", "yolo-x"], ModelRegistry.Names);

    [Fact]
    public void UnknownNameIsAUserErrorListingTheKnownOnes()
    {
        var e = Assert.Throws<InputException>(() => ModelRegistry.Get("unet2"));
        Assert.Equal("unknown model 'unet2' (known: unet, unet-same, fcn32s, fcn16s, fcn8s, yolo, yolo-n, yolo-s, yolo-m, yolo-l, yolo-x)", e.Message);
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
            if (entry.Name.StartsWith("fcn"))
                Assert.Equal(entry.Name, ((Fcn)model).Variant.ToString().ToLowerInvariant());
        }
    }
}
