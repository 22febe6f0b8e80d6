using PixelBox.Data;
using PixelBox.Losses;
using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>
/// Every zoo model trains on Shapes images whose sides are not multiples of 32, with 1, 3 or 4 input
/// channels: logits at the input size, finite loss, every parameter gets a gradient (so no layer is cut
/// off from the loss, the auxiliary heads included), and SGD steps lower the loss on the batch.
/// </summary>
public class ZooTrainingTests
{
    const int Classes = 5; // Shapes: background + 4 shapes

    /// <summary>A batch of two 65x49 Shapes scenes; extra input channels repeat the grey level.</summary>
    static (Tensor Images, Tensor Masks) Batch(int channels)
    {
        const int size = 65;
        var images = new List<Tensor>();
        var masks = new List<Tensor>();
        for (var i = 0; i < 2; i++)
        {
            var scene = ShapesDataset.Render(size, seed: 7, index: i);
            using var rgb = tensor(scene.Image.Pixels, [size, size, 3]).permute(2, 0, 1).to_type(ScalarType.Float32).div(255f);
            using var grey = rgb.mean([0L], keepdim: true);
            var image = channels switch
            {
                1 => grey.clone(),
                3 => rgb.clone(),
                _ => cat([rgb, grey.repeat(channels - 3, 1, 1)], 0),
            };
            images.Add(image.narrow(1, 0, 49).narrow(2, 0, 63)); // 49 x 63
            masks.Add(tensor(scene.Mask.Pixels, [size, size]).to_type(ScalarType.Int64).narrow(0, 0, 49).narrow(1, 0, 63));
        }
        return (stack(images), stack(masks));
    }

    [Theory]
    [InlineData("segnet", 3)]
    [InlineData("fcn-resnet50", 4)]
    [InlineData("fcn-resnet101", 3)]
    [InlineData("deeplabv3-resnet50", 1)]
    [InlineData("deeplabv3-resnet101", 3)]
    [InlineData("deeplabv3-mobilenet-v3-large", 4)]
    [InlineData("lraspp-mobilenet-v3-large", 1)]
    [InlineData("deeplabv3plus-resnet50", 4)]
    [InlineData("deeplabv3plus-resnet101", 3)]
    [InlineData("pspnet-resnet50", 1)]
    [InlineData("pspnet-resnet101", 3)]
    [InlineData("hrnetv2-w18", 4)]
    [InlineData("hrnetv2-w48", 3)]
    public void TrainsAFewStepsOnShapes(string name, int channels) =>
        AssertTrains(ModelRegistry.Get(name).CreateSegmentation(Classes, channels), channels, withAux: false);

    [Theory]
    [InlineData("deeplabv3-resnet50-aux", 3)]
    [InlineData("pspnet-resnet50-aux", 1)]
    public void TrainsWithTheAuxiliaryLoss(string name, int channels) =>
        AssertTrains(name.StartsWith("pspnet") ? PspNet.ResNet50(Classes, channels, auxHead: true) : DeepLabV3.ResNet50(Classes, channels, auxHead: true),
            channels, withAux: true);

    static void AssertTrains(SegmentationModel model, int channels, bool withAux)
    {
        using (model)
        {
            var (images, masks) = Batch(channels);
            using var lossFunction = new WeightedCrossEntropyLoss();
            using var optimizer = optim.SGD(model.parameters(), learningRate: 0.01, momentum: 0.9);
            model.train();
            var losses = new List<float>();
            for (var step = 0; step < 3; step++)
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                var (output, aux) = withAux ? Forward(model, images) : (model.call(images), null);
                Assert.Equal(new long[] { 2, Classes, 49, 63 }, output.shape);
                var loss = lossFunction.call(output, masks);
                if (aux is not null)
                    loss = loss + 0.4 * lossFunction.call(aux, masks); // torchvision's reference aux weight
                Assert.True(float.IsFinite(loss.item<float>()), $"step {step}: loss {loss.item<float>()}");
                loss.backward();
                if (step == 0)
                    foreach (var (name, p) in model.named_parameters())
                        Assert.True(p.grad is { } g && g.abs().sum().item<float>() > 0, $"{name} gets no gradient");
                optimizer.step();
                losses.Add(loss.item<float>());
            }
            Assert.True(losses[^1] < losses[0], $"loss did not go down: {string.Join(", ", losses)}");
            model.eval();
            using var noGrad = no_grad();
            using var evalOutput = model.call(images);
            Assert.Equal(new long[] { 2, Classes, 49, 63 }, evalOutput.shape);
        }
    }

    static (Tensor Out, Tensor? Aux) Forward(SegmentationModel model, Tensor input) => model switch
    {
        SimpleSegmentationModel m => m.ForwardWithAux(input),
        PspNet m => m.ForwardWithAux(input),
        _ => (model.call(input), null),
    };

    [Fact]
    public void SegNetRestoresOddSidesAndRefusesSidesBelow32()
    {
        using var model = new SegNet(3, 2);
        model.eval();
        using var noGrad = no_grad();
        using var x = randn(1, 2, 33, 47, generator: new Generator(1));
        using var y = model.call(x);
        Assert.Equal(new long[] { 1, 3, 33, 47 }, y.shape);
        Assert.Equal(33, model.OutputSize(33));
        Assert.Throws<ArgumentException>(() => model.OutputSize(31));
        using var small = zeros(1, 2, 31, 64);
        Assert.Throws<ArgumentException>(() => model.call(small));
    }
}
