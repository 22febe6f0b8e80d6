using PixelBox.Models.Backbones;
using PixelBox.Models.Segmentation;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

public class VggImportTests
{
    [Fact]
    public void TorchVisionVgg16WeightsLandInTheFcnAndFc6ActsAsTheLinearLayer()
    {
        using var vgg = torchvision.models.vgg16();
        using var fcn = Fcn.Fcn8s(numClasses: 21);
        var source = vgg.state_dict();
        var copied = VggImport.IntoFcn(fcn, source);
        Assert.Equal(30, copied.Count);
        var target = fcn.state_dict();

        foreach (var i in new[] { 0, 14, 28 })
        {
            Assert.True(source[$"features.{i}.weight"].allclose(target[$"backbone.features.{i}.weight"], rtol: 0, atol: 0));
            Assert.True(source[$"features.{i}.bias"].allclose(target[$"backbone.features.{i}.bias"], rtol: 0, atol: 0));
        }
        Assert.True(source["classifier.3.bias"].allclose(target["fc7.bias"], rtol: 0, atol: 0));

        // fc6 as a 7x7 convolution on pool5 computes what the first linear layer computes on flattened pool5
        using var noGrad = no_grad();
        using var pool5 = randn(2, 512, 7, 7, generator: new Generator(3));
        using var linear = nn.functional.linear(pool5.flatten(1), source["classifier.0.weight"], source["classifier.0.bias"]);
        using var conv6 = nn.functional.conv2d(pool5, target["fc6.weight"], target["fc6.bias"]);
        Assert.True(linear.allclose(conv6.flatten(1), rtol: 1e-4, atol: 1e-4));
        using var hidden = randn(2, 4096, generator: new Generator(4));
        using var linear7 = nn.functional.linear(hidden, source["classifier.3.weight"], source["classifier.3.bias"]);
        using var conv7 = nn.functional.conv2d(hidden.view(2, 4096, 1, 1), target["fc7.weight"], target["fc7.bias"]);
        Assert.True(linear7.allclose(conv7.flatten(1), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void MissingOrMisshapenTensorsAreReportedBeforeAnythingIsCopied()
    {
        using var fcn = Fcn.Fcn32s(numClasses: 2);
        var before = fcn.state_dict()["backbone.features.0.weight"].clone();
        var state = new Dictionary<string, Tensor> { ["features.0.weight"] = ones(64, 3, 3, 3), ["features.0.bias"] = ones(64) };
        var e = Assert.Throws<ArgumentException>(() => VggImport.IntoFcn(fcn, state));
        Assert.Contains("no 'features.2.weight'", e.Message);
        Assert.True(before.allclose(fcn.state_dict()["backbone.features.0.weight"], rtol: 0, atol: 0));

        var dir = Directory.CreateTempSubdirectory("pixelbox-vgg-");
        try
        {
            var path = Path.Combine(dir.FullName, "bad.safetensors");
            Safetensors.SaveStateDict(path, new Dictionary<string, Tensor> { ["features.0.weight"] = ones(64, 1, 3, 3) });
            var input = Assert.Throws<InputException>(() => VggImport.IntoFcn(fcn, path));
            Assert.StartsWith(path + ": 'features.0.weight' is [64, 1, 3, 3], 'backbone.features.0.weight' needs [64, 3, 3, 3]", input.Message);
            Assert.Throws<InputException>(() => VggImport.IntoFcn(fcn, Path.Combine(dir.FullName, "missing.pth")));
            File.WriteAllText(Path.Combine(dir.FullName, "junk.pth"), "not a state dict");
            Assert.Throws<InputException>(() => VggImport.IntoFcn(fcn, Path.Combine(dir.FullName, "junk.pth")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
