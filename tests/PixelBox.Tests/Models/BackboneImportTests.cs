using PixelBox.Interop;
using PixelBox.Models.Backbones;
using PixelBox.Models.Segmentation;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>torchvision ImageNet classifiers' state dicts (random weights; Reference/make_zoo_references.py
/// 'imagenet'): resnet50.pth, mobilenet_v3_large.safetensors, vgg16_bn.safetensors.</summary>
public sealed class ImageNetReferences() : PythonReferences("imagenet");

public class BackboneImportTests(ImageNetReferences references) : IClassFixture<ImageNetReferences>
{
    Dictionary<string, Tensor> Read(string file) => StateDictLoader.Read(references.PathOf(file));

    static void AssertEqual(Tensor expected, Tensor actual, string what) =>
        Assert.True(expected.reshape(actual.shape).allclose(actual, rtol: 0, atol: 0), what);

    [PythonTorchFact]
    public void ResNet50WeightsFillEveryBackboneTensorAndNothingElse()
    {
        using var model = DeepLabV3.ResNet50(numClasses: 5);
        var head = model.state_dict().Where(kv => kv.Key.StartsWith("classifier.")).ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var report = BackboneImport.ImageNet(model, references.PathOf("resnet50.pth"));
        Assert.True(report.IsExact, report.ToString());
        Assert.Equal(["fc.bias", "fc.weight"], report.Ignored.Order());
        Assert.Equal(model.Backbone.state_dict().Count, report.Loaded.Count);
        var file = Read("resnet50.pth");
        var state = model.state_dict();
        foreach (var name in new[] { "conv1.weight", "bn1.running_var", "layer1.0.downsample.0.weight", "layer4.2.conv3.weight", "layer4.2.bn3.bias" })
            AssertEqual(file[name], state["backbone." + name], name);
        foreach (var (name, value) in head)
            Assert.True(value.allclose(state[name], rtol: 0, atol: 0), $"{name} must keep its initialisation");
    }

    [PythonTorchFact]
    public void MobileNetV3WeightsMapFeaturesToTheBackbone()
    {
        using var model = LrAspp.MobileNetV3Large(numClasses: 3);
        var report = BackboneImport.ImageNet(model, references.PathOf("mobilenet_v3_large.safetensors"));
        Assert.True(report.IsExact, report.ToString());
        Assert.All(report.Ignored, n => Assert.StartsWith("classifier.", n));
        var file = Read("mobilenet_v3_large.safetensors");
        var state = model.state_dict();
        foreach (var name in new[] { "0.0.weight", "4.block.2.fc1.bias", "13.block.1.1.running_mean", "16.1.weight" })
            AssertEqual(file["features." + name], state["backbone." + name], name);
    }

    [PythonTorchFact]
    public void Vgg16BnWeightsLandInTheSegNetEncoder()
    {
        using var model = new SegNet(numClasses: 4);
        var report = BackboneImport.ImageNet(model, references.PathOf("vgg16_bn.safetensors"));
        Assert.True(report.IsExact, report.ToString());
        Assert.Equal(26 * 3 + 13, report.Loaded.Count); // 13 x (conv weight, bias) + 13 x (BN weight, bias, mean, var, counter)
        var file = Read("vgg16_bn.safetensors");
        var state = model.state_dict();
        AssertEqual(file["features.0.weight"], state["enc.0.0.0.weight"], "conv1_1");
        AssertEqual(file["features.1.running_var"], state["enc.0.0.1.running_var"], "bn1_1");
        AssertEqual(file["features.17.bias"], state["enc.2.2.0.bias"], "conv3_3");
        AssertEqual(file["features.41.weight"], state["enc.4.2.1.weight"], "bn5_3");
    }

    [PythonTorchTheory]
    [InlineData(1)]
    [InlineData(4)]
    public void OtherInputChannelCountsAdaptTheFirstConvolution(int channels)
    {
        using var model = DeepLabV3.ResNet50(numClasses: 2, inChannels: channels);
        var report = BackboneImport.ImageNet(model, references.PathOf("resnet50.pth"));
        Assert.True(report.IsExact, report.ToString());
        Assert.Contains(report.Notes, n => n.StartsWith("conv1.weight: RGB weights adapted"));
        var rgb = Read("resnet50.pth")["conv1.weight"];
        var conv1 = model.state_dict()["backbone.conv1.weight"];
        using var expected = channels == 1 ? rgb.sum(1, keepdim: true) : rgb.repeat(1, 2, 1, 1).narrow(1, 0, channels).mul(3.0 / channels);
        Assert.True(expected.allclose(conv1, rtol: 1e-6, atol: 1e-7));
        if (channels == 1)
        {
            // a grey image through the summed filter gives what the RGB filter gives on its three equal channels
            using var greyRgb = rgb.sum(1);
            using var greyOurs = conv1.sum(1);
            Assert.True(greyRgb.allclose(greyOurs, rtol: 1e-5, atol: 1e-6));
        }
    }

    [PythonTorchFact]
    public void TheWrongArchitectureIsAStrictErrorListingTheMismatch()
    {
        using var model = LrAspp.MobileNetV3Large(numClasses: 3);
        var path = references.PathOf("resnet50.pth");
        var e = Assert.Throws<InputException>(() => BackboneImport.ImageNet(model, path));
        Assert.StartsWith($"{path}: state dict does not fit the model: ", e.Message);
        Assert.Contains("missing (0.0.weight, 0.1.weight, 0.1.bias", e.Message);
        Assert.Contains("unexpected (bn1.bias, bn1.running_mean", e.Message);
        var report = BackboneImport.ImageNet(model, path, strict: false);
        Assert.Empty(report.Loaded);
    }

    [Fact]
    public void ModelsWithoutATorchVisionEncoderAreRefused()
    {
        using var model = HRNetV2.W18(device: META);
        Assert.Throws<ArgumentException>(() => BackboneImport.ImageNet(model, new Dictionary<string, Tensor>()));
    }
}
