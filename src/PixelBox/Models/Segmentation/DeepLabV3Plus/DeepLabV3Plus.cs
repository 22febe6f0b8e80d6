using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ResNet = PixelBox.Models.Backbones.ResNet;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// DeepLabV3+ (Chen et al., "Encoder-Decoder with Atrous Separable Convolution", ECCV 2018) on a
/// torchvision ResNet: the DeepLabV3 encoder (dilated ResNet + ASPP, output stride 16 with rates 6/12/18
/// as the paper trains, or 8 with 12/24/36) and the paper's decoder: the stride-4 low-level features
/// (layer1, 256 channels) projected to 48 channels, concatenated with the ASPP output upsampled to
/// their size, two 3x3 convolutions of 256 channels, a 1x1 classifier; logits resized to the input.
/// </summary>
/// <remarks>
/// Names follow the widely used PyTorch port VainF/DeepLabV3Plus-Pytorch (torchvision backbone under
/// <c>backbone.</c>; <c>classifier.project</c>, <c>classifier.aspp</c> = torchvision's ASPP with dropout
/// 0.1, <c>classifier.classifier</c>), except that <c>classifier.classifier</c> has the paper's two 3x3
/// convolutions (indices 0-5, classifier at 6) where that port has one. Checked against the reference
/// definition tests/PixelBox.Tests/Models/Reference/zoo_reference_models.py.
/// </remarks>
public sealed class DeepLabV3Plus : SegmentationModel, IOnnxExportable
{
    readonly ResNet backbone;
    readonly DeepLabV3PlusHead classifier;

    DeepLabV3Plus(string name, int numClasses, int inChannels, ResNet backbone, IReadOnlyList<int> rates, Device? device,
        long lowLevelChannels = 48, long channels = 256)
        : base(name, numClasses, inChannels)
    {
        this.backbone = backbone;
        classifier = new DeepLabV3PlusHead(backbone["out"].Channels, backbone["low_level"].Channels, numClasses, rates, device, lowLevelChannels, channels);
        RegisterComponents();
    }

    /// <summary>A DeepLabV3+ on any ResNet trunk returning "low_level" and "out" (<see cref="ReturnLayers"/>) with a
    /// head of <paramref name="lowLevelChannels"/> (paper: 48) and <paramref name="channels"/> (256): narrow
    /// configurations for tiny models and tests.</summary>
    public static DeepLabV3Plus Create(string name, ResNet backbone, int numClasses, int inChannels, int outputStride = 16,
        long lowLevelChannels = 48, long channels = 256, Device? device = null) =>
        new(name, numClasses, inChannels, backbone, AtrousRates(outputStride), device, lowLevelChannels, channels);

    /// <summary>ASPP rates for an encoder output stride: 6/12/18 at 16, doubled at 8 (the paper).</summary>
    public static int[] AtrousRates(int outputStride) => outputStride switch
    {
        16 => [6, 12, 18],
        8 => [12, 24, 36],
        _ => throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "DeepLabV3+ uses output stride 8 or 16"),
    };

    public static DeepLabV3Plus ResNet50(int numClasses = 21, int inChannels = 3, int outputStride = 16, Device? device = null) =>
        new("deeplabv3plus-resnet50", numClasses, inChannels, ResNet.ResNet50(inChannels, outputStride, ReturnLayers, device), AtrousRates(outputStride), device);

    public static DeepLabV3Plus ResNet101(int numClasses = 21, int inChannels = 3, int outputStride = 16, Device? device = null) =>
        new("deeplabv3plus-resnet101", numClasses, inChannels, ResNet.ResNet101(inChannels, outputStride, ReturnLayers, device), AtrousRates(outputStride), device);

    public static Dictionary<string, string> ReturnLayers => new() { ["layer1"] = "low_level", ["layer4"] = "out" };

    public Backbone Backbone => backbone;

    /// <summary>Logits are resized to the input: any side, out = in.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 1 ? inputSize : throw new ArgumentException($"input size must be positive, got {inputSize}", nameof(inputSize));

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input) =>
        graph.ResizeLike(classifier.ExportOnnx(graph, backbone.ExportOnnx(graph, input)), input, bilinear: true, "resize");

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var logits = classifier.call(backbone.call(input));
        return ModuleChain.Resize(logits, input.shape[^2], input.shape[^1], alignCorners: false).MoveToOuterDisposeScope();
    }
}

/// <summary>The DeepLabV3+ decoder head: <c>project</c> (1x1 to 48, BatchNorm, ReLU) on "low_level",
/// <c>aspp</c> on "out" resized to the low-level size, concatenated [low, aspp] and fed to
/// <c>classifier</c> (3x3 conv 304 -> 256, BN, ReLU, 3x3 conv 256 -> 256, BN, ReLU, 1x1 to classes).</summary>
public sealed class DeepLabV3PlusHead : nn.Module<Dictionary<string, Tensor>, Tensor>
{
    readonly Sequential project;
    readonly Aspp aspp;
    readonly Sequential classifier;

    /// <param name="projectChannels">Width of the projected low-level features (paper: 48).</param>
    /// <param name="channels">Width of ASPP and the decoder convolutions (paper: 256).</param>
    public DeepLabV3PlusHead(long inChannels, long lowLevelChannels, long numClasses, IReadOnlyList<int> atrousRates, Device? device = null,
        long projectChannels = 48, long channels = 256)
        : base("DeepLabHeadV3Plus")
    {
        project = nn.Sequential(
            nn.Conv2d(lowLevelChannels, projectChannels, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(projectChannels, device: device),
            nn.ReLU(inplace: true));
        aspp = new Aspp(inChannels, atrousRates, channels, 0.1, device);
        classifier = nn.Sequential(
            nn.Conv2d(projectChannels + channels, channels, kernel_size: 3, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(channels, device: device),
            nn.ReLU(inplace: true),
            nn.Conv2d(channels, channels, kernel_size: 3, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(channels, device: device),
            nn.ReLU(inplace: true),
            nn.Conv2d(channels, numClasses, kernel_size: 1, device: device));
        RegisterComponents();
    }

    /// <summary>The forward as an ONNX graph, on the backbone's exported maps.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, IReadOnlyDictionary<string, OnnxValue> features)
    {
        var path = graph.PathOf(this);
        var low = graph.Apply(project, features["low_level"]);
        var high = graph.ResizeLike(graph.Apply(aspp, features["out"]), low, bilinear: true, path + ".resize");
        return graph.Apply(classifier, graph.Concat([low, high], name: path + ".cat"));
    }

    public override Tensor forward(Dictionary<string, Tensor> features)
    {
        using var scope = NewDisposeScope();
        var low = project.call(features["low_level"]);
        var high = aspp.call(features["out"]);
        high = ModuleChain.Resize(high, low.shape[^2], low.shape[^1], alignCorners: false);
        return ModuleChain.Run(classifier.children().Cast<nn.Module<Tensor, Tensor>>(), cat([low, high], dim: 1)).MoveToOuterDisposeScope();
    }
}
