using Xunit.Abstractions;
using PixelBox.Models;
using PixelBox.Models.Segmentation;

namespace PixelBox.Tests.Models;

/// <summary>The zoo models torchvision lacks, from the reference definitions in
/// Reference/zoo_reference_models.py (SegNet from the shared ref_models.py): random weights with calibrated
/// BatchNorm, 5 classes, input 1x3x181x243 (odd sides: SegNet's unpooling must restore them exactly).</summary>
public sealed class ZooReferences() : PythonReferences("segnet", "deeplabv3plus-resnet50", "pspnet-resnet50-aux", "hrnetv2-w18");

public class ZooParityTests(ZooReferences references, ITestOutputHelper log) : IClassFixture<ZooReferences>
{
    const int Classes = 5;

    [PythonTorchTheory]
    [InlineData("segnet")]
    [InlineData("deeplabv3plus-resnet50")]
    [InlineData("pspnet-resnet50-aux")]
    [InlineData("hrnetv2-w18")]
    public void ReproducesTheReferenceDefinitionFromBothWeightFormats(string caseName)
    {
        SegmentationModel model = caseName == "pspnet-resnet50-aux"
            ? PspNet.ResNet50(Classes, auxHead: true)
            : ModelRegistry.Get(caseName).CreateSegmentation(Classes, 3);
        ModelParity.Check(references, caseName, model, log);
    }
}
