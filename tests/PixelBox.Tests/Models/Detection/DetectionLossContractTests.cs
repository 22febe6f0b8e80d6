using PixelBox.Models;
using PixelBox.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models.Detection;

[Collection(TorchRandomCollection.Name)]
public class DetectionLossContractTests
{
    /// <summary>
    /// A batch may hold an image without objects (a crop that cut every box away, an empty photo): every
    /// detector's losses stay finite and differentiable. YOLOv1's loss once crashed there reading its empty
    /// box tensor.
    /// </summary>
    [Theory]
    [InlineData("yolo", 64)]
    [InlineData("overfeat", 64)]
    [InlineData("yolov1", 112)]
    [InlineData("ssd300-vgg16", 300)]
    [InlineData("ssdlite320-mobilenet-v3-large", 128)]
    public void AnImageWithoutObjectsGivesFiniteLosses(string name, int inputSize)
    {
        torch.manual_seed(11);
        var entry = ModelRegistry.Get(name);
        DetectionSettings settings;
        using (var native = entry.CreateDetection(3, 3, device: META))
            settings = native.Settings with { InputSize = inputSize };
        using var model = entry.CreateDetection(3, 3, settings);
        model.train();
        using var images = rand([2, 3, inputSize, inputSize], generator: new Generator(2));
        using var boxes = tensor(new float[] { 0.2f * inputSize, 0.25f * inputSize, 0.7f * inputSize, 0.8f * inputSize }, [1, 4]);
        using var labels = tensor(new long[] { 1 });
        using var noBoxes = zeros(0, 4);
        using var noLabels = zeros(0, ScalarType.Int64);
        var parts = model.Losses(images, [new DetectionTarget(boxes, labels), new DetectionTarget(noBoxes, noLabels)]);
        Assert.NotEmpty(parts);
        Assert.All(parts, part => Assert.True(float.IsFinite(part.Value.item<float>()), $"{name}: {part.Name} = {part.Value.item<float>()}"));
        parts.Select(p => p.Value).Aggregate((a, b) => a + b).backward();

        var onlyEmpty = model.Losses(images, [new DetectionTarget(noBoxes, noLabels), new DetectionTarget(noBoxes, noLabels)]);
        Assert.All(onlyEmpty, part => Assert.True(float.IsFinite(part.Value.item<float>()), $"{name}, no objects at all: {part.Name} = {part.Value.item<float>()}"));
    }
}
