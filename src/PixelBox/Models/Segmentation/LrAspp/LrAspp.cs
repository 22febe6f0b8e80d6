using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// Lite R-ASPP (Howard et al., "Searching for MobileNetV3", ICCV 2019) as torchvision's
/// <c>lraspp_mobilenet_v3_large</c>, module for module: dilated MobileNetV3-Large returning "low"
/// (feature 4, 40 channels, stride 8) and "high" (feature 16, 960 channels, stride 16), and an
/// <see cref="LrAsppHead"/>; logits resized bilinearly to the input. 3,221,538 parameters with 21 classes.
/// </summary>
public sealed class LrAspp : SegmentationModel, IOnnxExportable
{
    readonly Backbones.MobileNetV3Large backbone;
    readonly LrAsppHead classifier;

    public LrAspp(int numClasses = 21, int inChannels = 3, int interChannels = 128, Device? device = null)
        : base("lraspp-mobilenet-v3-large", numClasses, inChannels)
    {
        backbone = new Backbones.MobileNetV3Large(inChannels, dilated: true, new Dictionary<int, string> { [4] = "low", [16] = "high" }, device);
        classifier = new LrAsppHead(backbone["low"].Channels, backbone["high"].Channels, numClasses, interChannels, device);
        RegisterComponents();
    }

    /// <summary>torchvision's <c>lraspp_mobilenet_v3_large(num_classes)</c>.</summary>
    public static LrAspp MobileNetV3Large(int numClasses = 21, int inChannels = 3, Device? device = null) =>
        new(numClasses, inChannels, 128, device);

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

/// <summary>torchvision's <c>LRASPPHead</c>: <c>cbr</c> (1x1 to inter channels, BatchNorm, ReLU) on the
/// high map, gated by <c>scale</c> (global average, 1x1, sigmoid), resized to the low map and classified
/// by <c>high_classifier</c>, plus <c>low_classifier</c> on the low map.</summary>
public sealed class LrAsppHead : nn.Module<Dictionary<string, Tensor>, Tensor>
{
    readonly Sequential cbr;
    readonly Sequential scale;
    readonly Conv2d low_classifier;
    readonly Conv2d high_classifier;

    public LrAsppHead(long lowChannels, long highChannels, long numClasses, long interChannels, Device? device = null)
        : base("LRASPPHead")
    {
        cbr = nn.Sequential(
            nn.Conv2d(highChannels, interChannels, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(interChannels, device: device),
            nn.ReLU(inplace: true));
        scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(highChannels, interChannels, kernel_size: 1, bias: false, device: device),
            nn.Sigmoid());
        low_classifier = nn.Conv2d(lowChannels, numClasses, kernel_size: 1, device: device);
        high_classifier = nn.Conv2d(interChannels, numClasses, kernel_size: 1, device: device);
        RegisterComponents();
    }

    /// <summary>The forward as an ONNX graph, on the backbone's exported maps.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, IReadOnlyDictionary<string, OnnxValue> features)
    {
        var path = graph.PathOf(this);
        var (low, high) = (features["low"], features["high"]);
        var x = graph.Mul(graph.Apply(cbr, high), graph.Apply(scale, high), path + ".gate");
        x = graph.ResizeLike(x, low, bilinear: true, path + ".resize");
        return graph.Add(graph.Apply(low_classifier, low), graph.Apply(high_classifier, x), path + ".add");
    }

    public override Tensor forward(Dictionary<string, Tensor> features)
    {
        using var scope = NewDisposeScope();
        var (low, high) = (features["low"], features["high"]);
        // not in place: ReLU's backward needs its output
        var x = cbr.call(high).mul(scale.call(high));
        x = ModuleChain.Resize(x, low.shape[^2], low.shape[^1], alignCorners: false);
        return low_classifier.call(low).add_(high_classifier.call(x)).MoveToOuterDisposeScope();
    }
}
