using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>
/// MobileNetV3-Large (Howard et al., ICCV 2019) laid out exactly like torchvision's
/// <c>mobilenet_v3_large().features</c>: children <c>0</c> (3x3 stride-2 stem) .. <c>15</c> (inverted
/// residual blocks, <c>N.block.M</c>) and <c>16</c> (1x1 to 960 channels), BatchNorm eps 0.001 /
/// momentum 0.01 as torchvision. <c>dilated</c> is torchvision's segmentation variant: the last stage
/// (blocks 13-15) keeps stride 1 and dilates its depthwise convolutions by 2, for an output stride of 16.
/// </summary>
/// <remarks>
/// As in torchvision's segmentation builders the backbone is the <c>features</c> sequence itself, so its
/// children sit directly under the model's <c>backbone.</c> prefix (<c>backbone.0.0.weight</c>); ImageNet
/// weights map <c>features.N.*</c> to <c>backbone.N.*</c> (<see cref="BackboneImport"/>). The stage ends
/// are <see cref="StageIndices"/> (0, 2, 4, 7, 13, 16): torchvision's LR-ASPP reads index 4 ("low",
/// 40 channels, stride 8) and 16 ("high"), DeepLabV3 16 ("out") and 4 ("aux").
/// </remarks>
public sealed class MobileNetV3Large : Backbone, IOnnxFeatureExtractor
{
    /// <summary>One inverted residual block: torchvision's bneck_conf(input, kernel, expanded, out, SE,
    /// hard-swish, stride, dilation) for width multiplier 1.</summary>
    sealed record BlockConfig(int In, int Kernel, int Expanded, int Out, bool SqueezeExcite, bool HardSwish, int Stride, int Dilation);

    public const double BatchNormEps = 0.001;
    public const double BatchNormMomentum = 0.01;

    /// <summary>Indices of the stem, of each stride-2 block and of the last layer (torchvision's
    /// stage_indices for the segmentation heads).</summary>
    public static readonly IReadOnlyList<int> StageIndices = [0, 2, 4, 7, 13, 16];

    readonly nn.Module<Tensor, Tensor>[] features;
    readonly Dictionary<int, string> returnNames;
    readonly List<FeatureMap> returns = [];

    /// <param name="inChannels">Image channels (ImageNet weights need 3).</param>
    /// <param name="dilated">Dilate the last stage instead of striding it (output stride 16 instead of 32).</param>
    /// <param name="returnLayers">Index into the features (0..16) to the name the map is returned under.</param>
    public MobileNetV3Large(int inChannels, bool dilated, IReadOnlyDictionary<int, string> returnLayers, Device? device = null)
        : base(nameof(MobileNetV3Large))
    {
        var d = dilated ? 2 : 1;
        BlockConfig[] blocks =
        [
            new(16, 3, 16, 16, false, false, 1, 1),
            new(16, 3, 64, 24, false, false, 2, 1),
            new(24, 3, 72, 24, false, false, 1, 1),
            new(24, 5, 72, 40, true, false, 2, 1),
            new(40, 5, 120, 40, true, false, 1, 1),
            new(40, 5, 120, 40, true, false, 1, 1),
            new(40, 3, 240, 80, false, true, 2, 1),
            new(80, 3, 200, 80, false, true, 1, 1),
            new(80, 3, 184, 80, false, true, 1, 1),
            new(80, 3, 184, 80, false, true, 1, 1),
            new(80, 3, 480, 112, true, true, 1, 1),
            new(112, 3, 672, 112, true, true, 1, 1),
            new(112, 5, 672, 160, true, true, 2, d),
            new(160, 5, 960, 160, true, true, 1, d),
            new(160, 5, 960, 160, true, true, 1, d),
        ];
        if (returnLayers.Count == 0)
            throw new ArgumentException("return at least one layer", nameof(returnLayers));
        foreach (var index in returnLayers.Keys)
            if (index < 0 || index > blocks.Length + 1)
                throw new ArgumentException($"MobileNetV3-Large has features 0..{blocks.Length + 1}, not {index}", nameof(returnLayers));
        returnNames = returnLayers.ToDictionary();
        Dilated = dilated;
        var deepest = returnLayers.Keys.Max();

        var built = new List<nn.Module<Tensor, Tensor>> { ConvNormActivation(inChannels, 16, 3, 2, 1, 1, hardSwish: true, device) };
        var (channels, stride) = (16, 2);
        Note(0, channels, stride);
        for (var i = 1; i <= deepest && i <= blocks.Length; i++)
        {
            var c = blocks[i - 1];
            built.Add(new InvertedResidual(c.In, c.Kernel, c.Expanded, c.Out, c.SqueezeExcite, c.HardSwish, c.Stride, c.Dilation, device));
            channels = c.Out;
            if (c.Dilation == 1)
                stride *= c.Stride;
            Note(i, channels, stride);
        }
        if (deepest == blocks.Length + 1)
        {
            built.Add(ConvNormActivation(160, 960, 1, 1, 1, 1, hardSwish: true, device));
            Note(deepest, 960, stride);
        }
        features = [.. built];
        ModuleChain.RegisterIndexed(this, features);
        ModuleChain.InitHeFanOut(this);

        void Note(int index, int c, int s)
        {
            if (returnNames.TryGetValue(index, out var name))
                returns.Add(new FeatureMap(name, c, s));
        }
    }

    public bool Dilated { get; }

    public override IReadOnlyList<FeatureMap> Returns => returns;

    public Dictionary<string, OnnxValue> ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var maps = new Dictionary<string, OnnxValue>();
        var x = input;
        for (var i = 0; i < features.Length; i++)
        {
            x = graph.Apply(features[i], x);
            if (returnNames.TryGetValue(i, out var name))
                maps[name] = x;
        }
        return maps;
    }

    public override Dictionary<string, Tensor> forward(Tensor input)
    {
        var maps = new Dictionary<string, Tensor>();
        var x = input;
        for (var i = 0; i < features.Length; i++)
        {
            var next = features[i].call(x);
            if (!ReferenceEquals(x, input) && !maps.ContainsValue(x) && !ReferenceEquals(x, next))
                x.Dispose();
            x = next;
            if (returnNames.TryGetValue(i, out var name))
                maps[name] = x;
        }
        return maps;
    }

    /// <summary>torchvision's Conv2dNormActivation: convolution without bias ("same" padding for the
    /// dilation), BatchNorm (eps 0.001), then hard-swish, ReLU or nothing; children 0, 1, 2.</summary>
    internal static Sequential ConvNormActivation(long inChannels, long outChannels, int kernel, int stride, int dilation, long groups,
        bool? hardSwish, Device? device)
    {
        var layers = nn.Sequential(
            nn.Conv2d(inChannels, outChannels, kernel_size: kernel, stride: stride, padding: (kernel - 1) / 2 * dilation,
                dilation: dilation, groups: groups, bias: false, device: device),
            nn.BatchNorm2d(outChannels, eps: BatchNormEps, momentum: BatchNormMomentum, device: device));
        if (hardSwish is { } hs)
            layers.append(hs ? nn.Hardswish(inplace: true) : nn.ReLU(inplace: true));
        return layers;
    }

    /// <summary>torchvision's _make_divisible: nearest multiple of 8 not below 90% of the value.</summary>
    internal static int MakeDivisible(int value, int divisor = 8)
    {
        var rounded = Math.Max(divisor, (value + divisor / 2) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }
}

/// <summary>torchvision's MobileNetV3 <c>InvertedResidual</c>: <c>block</c> = [1x1 expand] + depthwise
/// kxk (stride, or dilation instead of stride) + [squeeze-excitation] + 1x1 project (no activation);
/// a residual sum when the shape is kept.</summary>
public sealed class InvertedResidual : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Sequential block;
    readonly bool useResidual;

    public InvertedResidual(int inChannels, int kernel, int expanded, int outChannels, bool squeezeExcite, bool hardSwish,
        int stride, int dilation, Device? device = null) : base(nameof(InvertedResidual))
    {
        useResidual = stride == 1 && inChannels == outChannels;
        block = nn.Sequential();
        if (expanded != inChannels)
            block.append(MobileNetV3Large.ConvNormActivation(inChannels, expanded, 1, 1, 1, 1, hardSwish, device));
        block.append(MobileNetV3Large.ConvNormActivation(expanded, expanded, kernel, dilation > 1 ? 1 : stride, dilation, expanded, hardSwish, device));
        if (squeezeExcite)
            block.append(new SqueezeExcitation(expanded, MobileNetV3Large.MakeDivisible(expanded / 4), device));
        block.append(MobileNetV3Large.ConvNormActivation(expanded, outChannels, 1, 1, 1, 1, null, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var h = ModuleChain.Run(block.children().Cast<nn.Module<Tensor, Tensor>>(), input);
        return (useResidual ? h.add_(input) : h).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var h = graph.Apply(block, input);
        return useResidual ? graph.Add(h, input, graph.PathOf(this) + ".add") : h;
    }
}

/// <summary>torchvision's <c>SqueezeExcitation</c> as MobileNetV3 uses it: global average, <c>fc1</c> (1x1
/// conv), ReLU, <c>fc2</c>, hard-sigmoid, channel-wise scale of the input.</summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly AdaptiveAvgPool2d avgpool;
    readonly Conv2d fc1;
    readonly Conv2d fc2;
    readonly ReLU activation;
    readonly Hardsigmoid scale_activation;

    public SqueezeExcitation(long channels, long squeezeChannels, Device? device = null) : base(nameof(SqueezeExcitation))
    {
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc1 = nn.Conv2d(channels, squeezeChannels, kernel_size: 1, device: device);
        fc2 = nn.Conv2d(squeezeChannels, channels, kernel_size: 1, device: device);
        activation = nn.ReLU();
        scale_activation = nn.Hardsigmoid();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var scale = ModuleChain.Run([avgpool, fc1, activation, fc2, scale_activation], input);
        return scale.mul(input).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var scale = graph.Apply(fc2, graph.Relu(graph.Apply(fc1, graph.GlobalAveragePool(input, path + ".avgpool")), path + ".relu"));
        return graph.Mul(graph.HardSigmoid(scale, path + ".scale"), input, path);
    }
}
