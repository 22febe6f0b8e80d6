using PixelBox.Models.Backbones;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class Vgg16FeaturesTests
{
    [Fact]
    public void ParametersAreNamedLikeTorchvisionVgg16Features()
    {
        using var backbone = new Vgg16Features(device: META);
        var expected = new[] { 0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28 }
            .SelectMany(i => new[] { $"features.{i}.weight", $"features.{i}.bias" });
        Assert.Equal(expected, backbone.state_dict().Keys);
        Assert.Equal(14_714_688, backbone.parameters().Sum(p => p.numel())); // VGG16's convolutional part
    }

    [Theory]
    [InlineData(false, new long[] { 18, 9, 4, 2, 1 })]
    [InlineData(true, new long[] { 18, 9, 5, 3, 2 })]
    public void ReturnsTheRequestedPoolsWithFloorOrCeilRounding(bool ceilMode, long[] sides)
    {
        using var backbone = new Vgg16Features(ceilMode: ceilMode);
        using var scope = NewDisposeScope();
        var all = backbone.call(zeros(1, 3, 36, 36));
        Assert.Equal(Vgg16Features.FeatureNames, all.Keys);
        Assert.Equal(sides, all.Values.Select(t => t.shape[^1]));
        Assert.Equal(new long[] { 64, 128, 256, 512, 512 }, all.Values.Select(t => t.shape[1]));

        using var some = new Vgg16Features(ceilMode: ceilMode, returnLayers: ["pool3"]);
        Assert.Equal(["pool3"], some.call(zeros(1, 3, 36, 36)).Keys);
    }

    [Fact]
    public void UnknownFeatureNameIsRejected() =>
        Assert.Throws<ArgumentException>(() => new Vgg16Features(returnLayers: ["conv5_3"], device: META));
}
