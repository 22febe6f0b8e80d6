using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>
/// The feature maps SSD300 predicts from (Liu et al. 2016, Fig. 2), module for module as torchvision 0.14's
/// <c>SSDFeatureExtractorVGG</c> builds them from VGG16 (so state-dict keys are torchvision's):
/// <code>
///   features  = vgg16.features[:23]   conv1_1 .. conv4_3 + ReLU; pool3 in ceil mode (38 x 38 from 300)
///   map 0     = scale_weight * L2-normalise(conv4_3)   (per-channel scale, initialised to 20)
///   extra.0   = vgg16.features[23:30] (pool4, conv5_1..conv5_3 + ReLU) then 7: [pool5 3x3/1 pad 1,
///               conv6 3x3 dilation 6 (1024), ReLU, conv7 1x1 (1024), ReLU]          map 1: 19 x 19
///   extra.1   = 1x1 256, ReLU, 3x3/2 pad 1 512, ReLU (conv8_2)                      map 2: 10 x 10
///   extra.2   = 1x1 128, ReLU, 3x3/2 pad 1 256, ReLU (conv9_2)                      map 3:  5 x 5
///   extra.3   = 1x1 128, ReLU, 3x3 256, ReLU (conv10_2)                             map 4:  3 x 3
///   extra.4   = 1x1 128, ReLU, 3x3 256, ReLU (conv11_2)                             map 5:  1 x 1
/// </code>
/// Initialisation as torchvision: VGG convolutions Kaiming-normal (fan out), the fc and extra layers
/// Xavier-uniform, biases 0.
/// </summary>
public sealed class SsdVgg16Backbone : nn.Module<Tensor, Tensor[]>, ISsdBackbone, IOnnxExportableMulti
{
    /// <summary>Widths of VGG16's convolutions up to conv4_3; 0 is a 2x2/2 max-pool (the third in ceil mode).</summary>
    static readonly int[] UpToConv4 = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512];

    readonly Sequential features;
    readonly Parameter scale_weight;
    readonly ModuleList<Sequential> extra;

    /// <param name="widthDivisor">Divides every width (1: torchvision's; larger for tiny models and tests).</param>
    public SsdVgg16Backbone(int inChannels = 3, Device? device = null, int widthDivisor = 1) : base(nameof(SsdVgg16Backbone))
    {
        if (widthDivisor is < 1 or > 64 || 64 % widthDivisor != 0)
            throw new ArgumentOutOfRangeException(nameof(widthDivisor), widthDivisor, "must be a power of two up to 64");
        int W(int width) => width / widthDivisor;
        features = nn.Sequential();
        long channels = inChannels;
        int pools = 0;
        foreach (var width in UpToConv4)
        {
            if (width == 0)
            {
                features.append(nn.MaxPool2d(kernel_size: 2, stride: 2, ceil_mode: ++pools == 3));
                continue;
            }
            features.append(nn.Conv2d(channels, W(width), kernel_size: 3, padding: 1, device: device));
            features.append(nn.ReLU(inplace: true));
            channels = W(width);
        }
        scale_weight = new Parameter(full(W(512), 20f, device: device));

        var fc = nn.Sequential(
            nn.MaxPool2d(kernel_size: 3, stride: 1, padding: 1),
            nn.Conv2d(W(512), W(1024), kernel_size: 3, padding: 6, dilation: 6, device: device),
            nn.ReLU(inplace: true),
            nn.Conv2d(W(1024), W(1024), kernel_size: 1, device: device),
            nn.ReLU(inplace: true));
        var conv5 = nn.Sequential(nn.MaxPool2d(kernel_size: 2, stride: 2));
        for (int i = 0; i < 3; i++)
        {
            conv5.append(nn.Conv2d(W(512), W(512), kernel_size: 3, padding: 1, device: device));
            conv5.append(nn.ReLU(inplace: true));
        }
        conv5.append(fc);
        extra = new ModuleList<Sequential>(
            conv5,
            Extra(W(1024), W(256), W(512), stride: 2, padding: 1, device),
            Extra(W(512), W(128), W(256), stride: 2, padding: 1, device),
            Extra(W(256), W(128), W(256), stride: 1, padding: 0, device),
            Extra(W(256), W(128), W(256), stride: 1, padding: 0, device));
        OutChannels = [W(512), W(1024), W(512), W(256), W(256), W(256)];
        RegisterComponents();

        using var noGrad = no_grad();
        foreach (var conv in features.children().OfType<Conv2d>().Concat(conv5.children().OfType<Conv2d>()))
        {
            nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
            nn.init.zeros_(conv.bias);
        }
        foreach (var conv in fc.children().OfType<Conv2d>().Concat(extra.Skip(1).SelectMany(e => e.children().OfType<Conv2d>())))
        {
            nn.init.xavier_uniform_(conv.weight);
            nn.init.zeros_(conv.bias);
        }
    }

    static Sequential Extra(long inChannels, long hidden, long outChannels, long stride, long padding, Device? device) => nn.Sequential(
        nn.Conv2d(inChannels, hidden, kernel_size: 1, device: device),
        nn.ReLU(inplace: true),
        nn.Conv2d(hidden, outChannels, kernel_size: 3, stride: stride, padding: padding, device: device),
        nn.ReLU(inplace: true));

    public IReadOnlyList<int> OutChannels { get; }

    /// <summary>The smallest input side that leaves conv11_2 one cell.</summary>
    public const int MinSide = 268;

    /// <summary>The six maps' sizes for an input side (conv arithmetic: 300 gives 38, 19, 10, 5, 3, 1); a
    /// side too small to leave every map at least one cell is an ArgumentException.</summary>
    public IReadOnlyList<long> MapSides(long side)
    {
        static long Pool(long s, bool ceil) => ceil ? (s - 2 + 1) / 2 + 1 : (s - 2) / 2 + 1;
        long conv4 = Pool(Pool(Pool(side, false), false), true);
        long conv7 = Pool(conv4, false);
        long conv8 = (conv7 - 1) / 2 + 1, conv9 = (conv8 - 1) / 2 + 1;
        long conv10 = conv9 - 2, conv11 = conv10 - 2;
        if (conv11 < 1)
            throw new ArgumentException($"SSD300's six VGG16 feature maps need input sides of at least {MinSide} pixels (got {side})");
        return [conv4, conv7, conv8, conv9, conv10, conv11];
    }

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var path = graph.PathOf(this);
        var x = graph.Apply(features, inputs[0]);
        var outputs = new OnnxValue[1 + extra.Count];
        using var scaleView = scale_weight.view(1, -1, 1, 1);
        var scale = graph.Initializer(path + ".scale_weight", scaleView);
        outputs[0] = graph.Mul(scale, graph.L2Normalize(x, name: path + ".normalize"), path + ".l2norm");
        for (int i = 0; i < extra.Count; i++)
            outputs[i + 1] = x = graph.Apply(extra[i], x);
        return outputs;
    }

    public override Tensor[] forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = features.call(input);
        var outputs = new Tensor[1 + extra.Count];
        // the scale follows the activations' dtype (bf16 inference converts layers, not this backbone's own parameter)
        outputs[0] = scale_weight.to(x.dtype).view(1, -1, 1, 1) * nn.functional.normalize(x);
        for (int i = 0; i < extra.Count; i++)
            outputs[i + 1] = x = extra[i].call(x);
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }
}
