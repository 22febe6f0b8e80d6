using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>
/// SSDlite's feature maps on MobileNetV3-Large, module for module as torchvision 0.14's
/// <c>SSDLiteFeatureExtractorMobileNet</c> over <c>mobilenet_v3_large(reduced_tail=True)</c> (what
/// ssdlite320_mobilenet_v3_large builds without ImageNet weights, the configuration of its COCO checkpoint):
/// <code>
///   features.0 = stem + inverted residual blocks 1..12 + block 13's 1x1 expansion (672 ch, stride 16): map 0
///   features.1 = block 13 from its depthwise convolution on (children keep the names 1, 2, 3), blocks 14, 15
///                (the reduced tail: 80 channels, 480 expanded) and the last 1x1 convolution (480 ch, stride 32): map 1
///   extra.0..3 = 1x1 to out/2, depthwise 3x3 stride 2, 1x1 to 512, 256, 256, 128 (BatchNorm, ReLU6): maps 2..5
/// </code>
/// (Howard et al. 2019, sec. 6.3: SSDlite's first map is the C4 expansion layer.) BatchNorm eps 0.001,
/// momentum 0.03; every convolution initialised N(0, 0.03) (torchvision's _normal_init without ImageNet weights).
/// The MobileNetV3 blocks are the backbone zoo's (<see cref="InvertedResidual"/>, <see cref="SqueezeExcitation"/>).
/// </summary>
public sealed class SsdLiteMobileNetV3Backbone : nn.Module<Tensor, Tensor[]>, ISsdBackbone, IOnnxExportableMulti
{
    public const double BatchNormMomentum = 0.03;

    /// <summary>torchvision's bneck_conf rows of MobileNetV3-Large with the reduced tail (blocks 13-15 halved).</summary>
    sealed record Block(int In, int Kernel, int Expanded, int Out, bool SqueezeExcite, bool HardSwish, int Stride);

    static readonly Block[] Blocks =
    [
        new(16, 3, 16, 16, false, false, 1), new(16, 3, 64, 24, false, false, 2), new(24, 3, 72, 24, false, false, 1),
        new(24, 5, 72, 40, true, false, 2), new(40, 5, 120, 40, true, false, 1), new(40, 5, 120, 40, true, false, 1),
        new(40, 3, 240, 80, false, true, 2), new(80, 3, 200, 80, false, true, 1), new(80, 3, 184, 80, false, true, 1),
        new(80, 3, 184, 80, false, true, 1), new(80, 3, 480, 112, true, true, 1), new(112, 3, 672, 112, true, true, 1),
        new(112, 5, 672, 80, true, true, 2), new(80, 5, 480, 80, true, true, 1), new(80, 5, 480, 80, true, true, 1),
    ];

    /// <summary>Index of the C4 block, split after its expansion (torchvision's c4_pos, 13).</summary>
    const int C4 = 13;

    readonly ModuleList<Sequential> features;
    readonly ModuleList<Sequential> extra;

    public SsdLiteMobileNetV3Backbone(int inChannels = 3, Device? device = null) : base(nameof(SsdLiteMobileNetV3Backbone))
    {
        var norm = Norm(device);
        var first = nn.Sequential(MobileNetV3Large.ConvNormActivation(inChannels, 16, 3, 2, 1, 1, hardSwish: true, device));
        for (int i = 1; i < C4; i++)
            first.append(Residual(Blocks[i - 1], device));
        var c4 = Blocks[C4 - 1];
        first.append(MobileNetV3Large.ConvNormActivation(c4.In, c4.Expanded, 1, 1, 1, 1, c4.HardSwish, device));
        var rest = nn.Sequential(
            ("1", MobileNetV3Large.ConvNormActivation(c4.Expanded, c4.Expanded, c4.Kernel, c4.Stride, 1, c4.Expanded, c4.HardSwish, device)),
            ("2", new SqueezeExcitation(c4.Expanded, MobileNetV3Large.MakeDivisible(c4.Expanded / 4), device)),
            ("3", MobileNetV3Large.ConvNormActivation(c4.Expanded, c4.Out, 1, 1, 1, 1, null, device)));
        var second = nn.Sequential(rest);
        for (int i = C4 + 1; i <= Blocks.Length; i++)
            second.append(Residual(Blocks[i - 1], device));
        int last = Blocks[^1].Out;
        second.append(MobileNetV3Large.ConvNormActivation(last, 6 * last, 1, 1, 1, 1, hardSwish: true, device));
        features = new ModuleList<Sequential>(first, second);
        extra = new ModuleList<Sequential>(
            SsdLiteBlocks.ExtraBlock(6 * last, 512, norm, device),
            SsdLiteBlocks.ExtraBlock(512, 256, norm, device),
            SsdLiteBlocks.ExtraBlock(256, 256, norm, device),
            SsdLiteBlocks.ExtraBlock(256, 128, norm, device));
        RegisterComponents();
        foreach (var bn in modules().OfType<BatchNorm2d>())
            bn.momentum = BatchNormMomentum;
        SsdLiteBlocks.NormalInit(this);
        OutChannels = [c4.Expanded, 6 * last, 512, 256, 256, 128];
    }

    static InvertedResidual Residual(Block b, Device? device) =>
        new(b.In, b.Kernel, b.Expanded, b.Out, b.SqueezeExcite, b.HardSwish, b.Stride, 1, device);

    /// <summary>SSDlite's norm layer: BatchNorm2d(eps 0.001, momentum 0.03).</summary>
    public static Func<long, BatchNorm2d> Norm(Device? device) =>
        channels => nn.BatchNorm2d(channels, eps: MobileNetV3Large.BatchNormEps, momentum: BatchNormMomentum, device: device);

    public IReadOnlyList<int> OutChannels { get; }

    /// <summary>Map sides: stride 16 and 32 in the backbone, then halved (3x3, stride 2, padding 1) four times;
    /// 320 gives 20, 10, 5, 3, 2, 1.</summary>
    public IReadOnlyList<long> MapSides(long side)
    {
        if (side < 1)
            throw new ArgumentException($"input side must be positive (got {side})");
        static long Half(long s) => (s - 1) / 2 + 1;
        var sides = new long[6];
        sides[0] = Half(Half(Half(Half(side))));
        for (int i = 1; i < 6; i++)
            sides[i] = Half(sides[i - 1]);
        return sides;
    }

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var outputs = new List<OnnxValue>();
        var x = inputs[0];
        foreach (var block in features.Concat(extra))
            outputs.Add(x = graph.Apply(block, x));
        return [.. outputs];
    }

    public override Tensor[] forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var outputs = new Tensor[features.Count + extra.Count];
        var x = input;
        int k = 0;
        foreach (var block in features.Concat(extra))
            outputs[k++] = x = block.call(x);
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }
}
