using PixelBox.Models;
using PixelBox.Models.Segmentation;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class ModelRegistryTests
{
    [Fact]
    public void ListsTheSpecNamesInOrder() =>
        Assert.Equal(["unet", "unet-same", "fcn32s", "fcn16s", "fcn8s"], ModelRegistry.Names);

    [Fact]
    public void UnknownNameIsAUserErrorListingTheKnownOnes()
    {
        var e = Assert.Throws<InputException>(() => ModelRegistry.Get("unet2"));
        Assert.Equal("unknown model 'unet2' (known: unet, unet-same, fcn32s, fcn16s, fcn8s)", e.Message);
    }

    [Fact]
    public void UNetSameIsThePracticalBatchNormVariant()
    {
        using var model = ModelRegistry.Get("unet-same").Create(numClasses: 4, inChannels: 3, META);
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
            using var model = entry.Create(entry.DefaultNumClasses, entry.DefaultInChannels, META);
            Assert.Equal("segmentation", entry.Task);
            Assert.False(string.IsNullOrWhiteSpace(entry.Paper));
            Assert.Equal((entry.DefaultNumClasses, entry.DefaultInChannels), (model.NumClasses, model.InChannels));
            if (entry.Name.StartsWith("fcn"))
                Assert.Equal(entry.Name, ((Fcn)model).Variant.ToString().ToLowerInvariant());
        }
    }
}
