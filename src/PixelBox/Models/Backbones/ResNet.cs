using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>
/// ResNet (He et al., CVPR 2016) laid out exactly like torchvision's <c>resnet50</c> / <c>resnet101</c>
/// (v1.5: the stride sits in the 3x3 convolution) without the classifier: <c>conv1</c>, <c>bn1</c>,
/// <c>layer1</c> .. <c>layer4</c> of <see cref="Bottleneck"/> blocks with <c>downsample.0/1</c>. For dense
/// prediction the stride of the last stages can be replaced by dilation (torchvision's
/// <c>replace_stride_with_dilation</c>): output stride 8 dilates layer3 and layer4, 16 only layer4.
/// </summary>
/// <remarks>
/// Returns the layers named in the constructor's map under the names given (torchvision's
/// <c>IntermediateLayerGetter</c>), e.g. {"layer4": "out", "layer3": "aux"}; layers after the deepest one
/// asked for are not built. ImageNet weights: a torchvision resnet state dict loads under this module's
/// prefix with its <c>fc.*</c> dropped (<see cref="BackboneImport"/>).
/// </remarks>
public sealed class ResNet : Backbone, IOnnxFeatureExtractor
{

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu;
    readonly MaxPool2d maxpool;
    readonly Sequential layer1;
    readonly Sequential? layer2;
    readonly Sequential? layer3;
    readonly Sequential? layer4;
    readonly Sequential[] layers;
    readonly string?[] returnNames; // per layer index, the returned name or null
    readonly List<FeatureMap> returns = [];

    /// <param name="blocks">Bottleneck blocks per stage: 3,4,6,3 (ResNet-50) or 3,4,23,3 (ResNet-101).</param>
    /// <param name="inChannels">Image channels (ImageNet weights need 3).</param>
    /// <param name="outputStride">32 (classification), 16 (layer4 dilated) or 8 (layer3 and layer4 dilated).</param>
    /// <param name="returnLayers">"layer1".."layer4" to the name each is returned under.</param>
    /// <param name="baseWidth">Stem width and bottleneck width of layer1 (64 in every torchvision ResNet; the
    /// stages double it); smaller for tiny models and tests.</param>
    public ResNet(IReadOnlyList<int> blocks, int inChannels, int outputStride, IReadOnlyDictionary<string, string> returnLayers, Device? device = null,
        int baseWidth = 64)
        : base(nameof(ResNet))
    {
        if (baseWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(baseWidth), baseWidth, "at least one channel");
        int[] layerWidths = [baseWidth, 2 * baseWidth, 4 * baseWidth, 8 * baseWidth];
        if (blocks.Count != 4 || blocks.Any(b => b < 1))
            throw new ArgumentException("a ResNet has four stages of at least one block each", nameof(blocks));
        bool[] dilate = outputStride switch
        {
            32 => [false, false, false],
            16 => [false, false, true],
            8 => [false, true, true],
            _ => throw new ArgumentOutOfRangeException(nameof(outputStride), outputStride, "output stride must be 8, 16 or 32"),
        };
        OutputStride = outputStride;
        returnNames = new string?[4];
        foreach (var (layer, name) in returnLayers)
        {
            var index = Array.IndexOf(["layer1", "layer2", "layer3", "layer4"], layer);
            if (index < 0)
                throw new ArgumentException($"unknown ResNet layer '{layer}' (layer1..layer4)", nameof(returnLayers));
            returnNames[index] = name;
        }
        var deepest = Array.FindLastIndex(returnNames, n => n != null);
        if (deepest < 0)
            throw new ArgumentException("return at least one layer", nameof(returnLayers));

        conv1 = nn.Conv2d(inChannels, baseWidth, kernel_size: 7, stride: 2, padding: 3, bias: false, device: device);
        bn1 = nn.BatchNorm2d(baseWidth, device: device);
        relu = nn.ReLU(inplace: true);
        maxpool = nn.MaxPool2d(kernel_size: 3, stride: 2, padding: 1);

        long inplanes = baseWidth;
        var dilation = 1;
        var stride = 4;
        var built = new List<Sequential>();
        for (var i = 0; i <= deepest; i++)
        {
            var layerStride = i == 0 ? 1 : 2;
            var previousDilation = dilation;
            if (i > 0 && dilate[i - 1])
            {
                dilation *= layerStride;
                layerStride = 1;
            }
            stride *= layerStride;
            built.Add(MakeLayer(ref inplanes, layerWidths[i], blocks[i], layerStride, previousDilation, dilation, device));
            if (returnNames[i] is { } name)
                returns.Add(new FeatureMap(name, (int)inplanes, stride));
        }
        layers = [.. built];
        layer1 = layers[0];
        layer2 = layers.ElementAtOrDefault(1);
        layer3 = layers.ElementAtOrDefault(2);
        layer4 = layers.ElementAtOrDefault(3);
        RegisterComponents();
        ModuleChain.InitHeFanOut(this);
    }

    /// <summary>torchvision's resnet50 trunk: 23,508,032 parameters for 3 input channels.</summary>
    public static ResNet ResNet50(int inChannels, int outputStride, IReadOnlyDictionary<string, string> returnLayers, Device? device = null) =>
        new([3, 4, 6, 3], inChannels, outputStride, returnLayers, device);

    /// <summary>torchvision's resnet101 trunk: 42,500,160 parameters for 3 input channels.</summary>
    public static ResNet ResNet101(int inChannels, int outputStride, IReadOnlyDictionary<string, string> returnLayers, Device? device = null) =>
        new([3, 4, 23, 3], inChannels, outputStride, returnLayers, device);

    public int OutputStride { get; }

    public override IReadOnlyList<FeatureMap> Returns => returns;

    /// <summary>torchvision's <c>_make_layer</c>: the first block changes width (and stride) through a
    /// 1x1 <c>downsample</c> and keeps the previous dilation; the others use the stage's dilation.</summary>
    static Sequential MakeLayer(ref long inplanes, int planes, int blocks, int stride, int previousDilation, int dilation, Device? device)
    {
        var layer = nn.Sequential();
        Sequential? downsample = null;
        if (stride != 1 || inplanes != planes * Bottleneck.Expansion)
            downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes * Bottleneck.Expansion, kernel_size: 1, stride: stride, bias: false, device: device),
                nn.BatchNorm2d(planes * Bottleneck.Expansion, device: device));
        layer.append(new Bottleneck(inplanes, planes, stride, downsample, previousDilation, device));
        inplanes = planes * Bottleneck.Expansion;
        for (var b = 1; b < blocks; b++)
            layer.append(new Bottleneck(inplanes, planes, 1, null, dilation, device));
        return layer;
    }

    public Dictionary<string, OnnxValue> ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var maps = new Dictionary<string, OnnxValue>();
        var x = graph.Apply(maxpool, graph.Relu(graph.Conv(input, conv1, bn1), graph.PathOf(this) + ".relu"));
        for (var i = 0; i < layers.Length; i++)
        {
            x = graph.Apply(layers[i], x);
            if (returnNames[i] is { } name)
                maps[name] = x;
        }
        return maps;
    }

    public override Dictionary<string, Tensor> forward(Tensor input)
    {
        var maps = new Dictionary<string, Tensor>();
        var x = ModuleChain.Run([conv1, bn1, relu, maxpool], input);
        for (var i = 0; i < layers.Length; i++)
        {
            var next = ModuleChain.Run(layers[i].children().Cast<nn.Module<Tensor, Tensor>>(), x);
            if (!ReferenceEquals(x, input) && !maps.ContainsValue(x))
                x.Dispose();
            x = next;
            if (returnNames[i] is { } name)
                maps[name] = x;
        }
        return maps;
    }
}

/// <summary>torchvision's ResNet <c>Bottleneck</c> (v1.5): 1x1 reduce, 3x3 (stride, dilation), 1x1 expand
/// by 4, each with BatchNorm; identity or <c>downsample</c> shortcut; ReLU after the sum.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    public const int Expansion = 4;

    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Conv2d conv3;
    readonly BatchNorm2d bn3;
    readonly ReLU relu;
    readonly Sequential? downsample;

    public Bottleneck(long inplanes, long planes, int stride = 1, Sequential? downsample = null, int dilation = 1, Device? device = null)
        : base(nameof(Bottleneck))
    {
        conv1 = nn.Conv2d(inplanes, planes, kernel_size: 1, bias: false, device: device);
        bn1 = nn.BatchNorm2d(planes, device: device);
        conv2 = nn.Conv2d(planes, planes, kernel_size: 3, stride: stride, padding: dilation, dilation: dilation, bias: false, device: device);
        bn2 = nn.BatchNorm2d(planes, device: device);
        conv3 = nn.Conv2d(planes, planes * Expansion, kernel_size: 1, bias: false, device: device);
        bn3 = nn.BatchNorm2d(planes * Expansion, device: device);
        relu = nn.ReLU(inplace: true);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = ModuleChain.Run([conv1, bn1, relu, conv2, bn2, relu, conv3, bn3], input);
        var identity = downsample is null ? input : downsample.call(input);
        return relu.call(h.add_(identity)).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var h = graph.Relu(graph.Conv(input, conv1, bn1), path + ".relu1");
        h = graph.Relu(graph.Conv(h, conv2, bn2), path + ".relu2");
        h = graph.Conv(h, conv3, bn3);
        var identity = downsample is null ? input : graph.Apply(downsample, input);
        return graph.Relu(graph.Add(h, identity, path + ".add"), path + ".relu");
    }
}

/// <summary>torchvision's ResNet <c>BasicBlock</c> (also HRNet's): two 3x3 convolutions with BatchNorm,
/// identity or <c>downsample</c> shortcut, ReLU after the sum.</summary>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly ReLU relu;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly Sequential? downsample;

    public BasicBlock(long inplanes, long planes, int stride = 1, Sequential? downsample = null, Device? device = null)
        : base(nameof(BasicBlock))
    {
        conv1 = nn.Conv2d(inplanes, planes, kernel_size: 3, stride: stride, padding: 1, bias: false, device: device);
        bn1 = nn.BatchNorm2d(planes, device: device);
        relu = nn.ReLU(inplace: true);
        conv2 = nn.Conv2d(planes, planes, kernel_size: 3, padding: 1, bias: false, device: device);
        bn2 = nn.BatchNorm2d(planes, device: device);
        this.downsample = downsample;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = ModuleChain.Run([conv1, bn1, relu, conv2, bn2], input);
        var identity = downsample is null ? input : downsample.call(input);
        return relu.call(h.add_(identity)).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var h = graph.Conv(graph.Relu(graph.Conv(input, conv1, bn1), path + ".relu1"), conv2, bn2);
        var identity = downsample is null ? input : graph.Apply(downsample, input);
        return graph.Relu(graph.Add(h, identity, path + ".add"), path + ".relu");
    }
}
