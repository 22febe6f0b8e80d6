using PixelBox.Models;
using PixelBox.Training;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

/// <summary>`demo --model NAME`: every segmentation model of the registry gets demo settings it can train with
/// (built on the meta device, no training).</summary>
public class ShapesDemoSettingsTests
{
    public static TheoryData<string> SegmentationModels => new(ModelRegistry.NamesOf(ModelTasks.Segmentation));

    /// <summary>The models without normalisation layers: the VGG FCNs and the paper's U-Net.</summary>
    static readonly string[] WithoutBatchNorm = ["unet", "fcn32s", "fcn16s", "fcn8s"];

    [Theory]
    [MemberData(nameof(SegmentationModels))]
    public void EverySegmentationModelGetsSettingsItAccepts(string name)
    {
        foreach (var preset in new[] { ShapesDemoSettings.Full, ShapesDemoSettings.Quick })
        {
            var settings = preset.ForModel(name);
            Assert.Equal(name, settings.Model);
            Assert.Equal((preset.Images, preset.Epochs, preset.Seed), (settings.Images, settings.Epochs, settings.Seed));
            Assert.InRange(settings.BatchSize, 2, preset.BatchSize); // BatchNorm and ASPP's image pooling need 2 images per batch

            using var model = ModelRegistry.Get(name).CreateSegmentation(5, 3, META);
            var predicted = model.OutputSize(settings.ImageSize); // throws for a side the model does not take
            Assert.True(predicted >= preset.ImageSize, $"{name}: {settings.ImageSize} px images give {predicted} px predictions");
            Assert.Equal(ExpectedImageSide(name, preset.ImageSize), settings.ImageSize);

            if (name == "unet-same")
            {
                Assert.Same(preset, settings); // the demo's own model, as tuned
                continue;
            }
            Assert.Null(settings.Size); // only unet-same takes a width and depth
            Assert.Equal(WithoutBatchNorm.Contains(name) ? 1e-4 : 1e-3, settings.LearningRate);
        }
    }

    /// <summary>The paper's U-Net takes sides 16k + 188 and predicts side - 184 (572 -> 388): the smallest such side
    /// predicting at least the demo's; every other model predicts the whole image of any side of 32 or more.</summary>
    static int ExpectedImageSide(string name, int demoSide) =>
        name == "unet" ? 188 + 16 * (int)Math.Ceiling((demoSide - 4) / 16.0) : demoSide;

    [Theory]
    [InlineData("yolo")]
    [InlineData("ssd300-vgg16")]
    public void DetectorsAreRefusedWithAHintToTaskDet(string name)
    {
        var e = Assert.Throws<InputException>(() => ShapesDemoSettings.Quick.ForModel(name));
        Assert.Contains("--task det", e.Message);
        Assert.Contains("lraspp-mobilenet-v3-large", e.Message);
    }

    [Fact]
    public void UnknownModelIsAUserError() =>
        Assert.Contains("unknown model 'unet3'", Assert.Throws<InputException>(() => ShapesDemoSettings.Full.ForModel("unet3")).Message);
}
