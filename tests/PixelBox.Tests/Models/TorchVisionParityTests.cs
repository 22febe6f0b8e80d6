using Xunit.Abstractions;
using PixelBox.Interop;
using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>torchvision 0.14's segmentation models, random weights with calibrated BatchNorm, 5 classes,
/// input 1x3x181x243, made by Reference/make_zoo_references.py.</summary>
public sealed class TorchVisionReferences() : PythonReferences(
    "fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50-aux", "deeplabv3-resnet101", "deeplabv3-mobilenet-v3-large", "lraspp-mobilenet-v3-large");

/// <summary>
/// Every torchvision segmentation architecture of the zoo reproduces torchvision's logits (float
/// tolerance) on an image whose sides are not multiples of 32, from a torch.save .pth file and from a
/// .safetensors file of the same weights, loaded strictly (every name matches, nothing left over).
/// </summary>
public class TorchVisionParityTests(TorchVisionReferences references, ITestOutputHelper log) : IClassFixture<TorchVisionReferences>
{
    const int Classes = 5;

    [PythonTorchTheory]
    [InlineData("fcn-resnet50")]
    [InlineData("fcn-resnet101")]
    [InlineData("deeplabv3-resnet50-aux")]
    [InlineData("deeplabv3-resnet101")]
    [InlineData("deeplabv3-mobilenet-v3-large")]
    [InlineData("lraspp-mobilenet-v3-large")]
    public void ReproducesTorchVisionFromBothWeightFormats(string caseName)
    {
        SegmentationModel model = caseName == "deeplabv3-resnet50-aux"
            ? DeepLabV3.ResNet50(Classes, auxHead: true)
            : ModelRegistry.Get(caseName).CreateSegmentation(Classes, 3);
        ModelParity.Check(references, caseName, model, log);
    }
}

/// <summary>The shared lraspp_mobilenet_v3_large_bncal fixture (no Python needed).</summary>
public class SharedLrAsppFixtureTests(ITestOutputHelper log)
{
    /// <summary>The shared fixture (torchvision's own script, 224x224, BatchNorm calibrated): output and the
    /// intermediate maps it stores, so a mismatch would say where it starts.</summary>
    [Fact]
    public void ReproducesTheSharedLrAsppFixture()
    {
        var folder = SharedFiles.Fixture("torchvision", "lraspp_mobilenet_v3_large_bncal");
        using var model = LrAspp.MobileNetV3Large(numClasses: 5);
        model.eval();
        ModelParity.Poison(model);
        var report = StateDictLoader.Load(model, Path.Combine(folder, "model.safetensors"));
        Assert.True(report.IsExact, report.ToString());
        var io = Safetensors.LoadStateDict(Path.Combine(folder, "io.safetensors"));
        try
        {
            using var noGrad = no_grad();
            var features = model.Backbone.call(io["input"]);
            ModelParity.AssertClose("backbone low", features["low"], io["debug.backbone.low"], log);
            ModelParity.AssertClose("backbone high", features["high"], io["debug.backbone.high"], log);
            using var output = model.call(io["input"]);
            ModelParity.AssertClose("output", output, io["output"], log);
        }
        finally
        {
            foreach (var t in io.Values)
                t.Dispose();
        }
    }
}
