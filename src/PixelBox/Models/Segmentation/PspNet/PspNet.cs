using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using ResNet = PixelBox.Models.Backbones.ResNet;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// PSPNet (Zhao et al., "Pyramid Scene Parsing Network", CVPR 2017): a dilated ResNet (output stride 8),
/// the pyramid pooling module (average pooling to 1x1, 2x2, 3x3 and 6x6, each a 1x1 convolution to
/// 2048/4 = 512 channels with BatchNorm and ReLU, upsampled and concatenated with the features: 4096
/// channels), a 3x3 convolution to 512 with BatchNorm, ReLU and dropout 0.1, and a 1x1 classifier;
/// optionally the paper's auxiliary head on layer3 (deep supervision). Logits resized to the input.
/// </summary>
/// <remarks>
/// Head names and operations follow the authors' PyTorch implementation (hszhao/semseg <c>PSPNet</c>:
/// <c>ppm.features.{i}</c>, <c>cls</c>, <c>aux</c>, bilinear resizing with align_corners = true). The
/// backbone is torchvision's ResNet under <c>backbone.</c> (7x7 stem; the first block of a dilated stage
/// keeps the previous dilation) rather than semseg's deep-stem ResNet with every block dilated, so that
/// torchvision ImageNet checkpoints load (<see cref="BackboneImport"/>) and the backbone is the one of the
/// torchvision models. Checked against tests/PixelBox.Tests/Models/Reference/zoo_reference_models.py.
/// </remarks>
public sealed class PspNet : SegmentationModel, IOnnxExportable
{
    public static readonly IReadOnlyList<int> Bins = [1, 2, 3, 6];

    readonly ResNet backbone;
    readonly PyramidPooling ppm;
    readonly Sequential cls;
    readonly Sequential? aux;

    PspNet(string name, int numClasses, int inChannels, ResNet backbone, bool auxHead, double dropout, Device? device, long channels = 512)
        : base(name, numClasses, inChannels)
    {
        this.backbone = backbone;
        var features = backbone["out"].Channels;
        ppm = new PyramidPooling(features, features / Bins.Count, Bins, device);
        cls = Classifier(2 * features, channels, numClasses, dropout, device);
        aux = auxHead ? Classifier(backbone["aux"].Channels, channels / 2, numClasses, dropout, device) : null;
        RegisterComponents();
    }

    /// <summary>A PSPNet on any ResNet trunk with a classifier <paramref name="channels"/> wide (the paper: 512;
    /// the auxiliary head half as wide): narrow configurations for tiny models and tests.</summary>
    public static PspNet Create(string name, ResNet backbone, int numClasses, int inChannels, long channels = 512, bool auxHead = false, Device? device = null) =>
        new(name, numClasses, inChannels, backbone, auxHead, 0.1, device, channels);

    public static PspNet ResNet50(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("pspnet-resnet50", numClasses, inChannels, ResNet.ResNet50(inChannels, 8, FcnResNet.ReturnLayers(auxHead), device), auxHead, 0.1, device);

    public static PspNet ResNet101(int numClasses = 21, int inChannels = 3, bool auxHead = false, Device? device = null) =>
        new("pspnet-resnet101", numClasses, inChannels, ResNet.ResNet101(inChannels, 8, FcnResNet.ReturnLayers(auxHead), device), auxHead, 0.1, device);

    public Backbone Backbone => backbone;

    public bool HasAuxClassifier => aux != null;

    /// <summary>Logits are resized to the input: any side, out = in.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 1 ? inputSize : throw new ArgumentException($"input size must be positive, got {inputSize}", nameof(inputSize));

    public override Tensor forward(Tensor input) => ForwardWithAux(input, withAux: false).Out;

    /// <summary>The forward (without the auxiliary head) as an ONNX graph.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var features = backbone.ExportOnnx(graph, input)["out"];
        var logits = graph.Apply(cls, graph.Apply(ppm, features));
        return graph.ResizeLike(logits, input, bilinear: true, "resize", alignCorners: true);
    }

    /// <summary>Main logits and, when the model has the auxiliary head, its logits (null otherwise).</summary>
    public (Tensor Out, Tensor? Aux) ForwardWithAux(Tensor input) => ForwardWithAux(input, withAux: true);

    (Tensor Out, Tensor? Aux) ForwardWithAux(Tensor input, bool withAux)
    {
        using var scope = NewDisposeScope();
        var (height, width) = (input.shape[^2], input.shape[^1]);
        var features = backbone.call(input);
        var logits = ModuleChain.Run([ppm, cls], features["out"]);
        var output = ModuleChain.Resize(logits, height, width, alignCorners: true).MoveToOuterDisposeScope();
        Tensor? auxLogits = null;
        if (withAux && aux != null)
            auxLogits = ModuleChain.Resize(aux.call(features["aux"]), height, width, alignCorners: true).MoveToOuterDisposeScope();
        return (output, auxLogits);
    }

    /// <summary>3x3 convolution without bias, BatchNorm, ReLU, Dropout2d, 1x1 convolution (semseg's cls/aux).</summary>
    static Sequential Classifier(long inChannels, long channels, long numClasses, double dropout, Device? device) =>
        nn.Sequential(
            nn.Conv2d(inChannels, channels, kernel_size: 3, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(channels, device: device),
            nn.ReLU(inplace: true),
            nn.Dropout2d(dropout),
            nn.Conv2d(channels, numClasses, kernel_size: 1, device: device));
}

/// <summary>The pyramid pooling module (semseg's <c>PPM</c>): for each bin size a branch
/// <c>features.{i}</c> = adaptive average pool to bin x bin, 1x1 convolution without bias, BatchNorm, ReLU;
/// each branch resized back (bilinear, align_corners = true) and concatenated after the input.</summary>
public sealed class PyramidPooling : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ModuleList<Sequential> features;

    public PyramidPooling(long inChannels, long reductionChannels, IReadOnlyList<int> bins, Device? device = null) : base("PPM")
    {
        features = new ModuleList<Sequential>();
        foreach (var bin in bins)
            features.append(nn.Sequential(
                nn.AdaptiveAvgPool2d(bin),
                nn.Conv2d(inChannels, reductionChannels, kernel_size: 1, bias: false, device: device),
                nn.BatchNorm2d(reductionChannels, device: device),
                nn.ReLU(inplace: true)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var (height, width) = (input.shape[^2], input.shape[^1]);
        var parts = new List<Tensor> { input };
        foreach (var branch in features)
            parts.Add(ModuleChain.Resize(branch.call(input), height, width, alignCorners: true));
        return cat(parts, dim: 1).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var parts = new List<OnnxValue> { input };
        for (var i = 0; i < features.Count; i++)
            parts.Add(graph.ResizeLike(graph.Apply(features[i], input), input, bilinear: true, $"{path}.resize{i}", alignCorners: true));
        return graph.Concat(parts, name: path + ".cat");
    }
}
