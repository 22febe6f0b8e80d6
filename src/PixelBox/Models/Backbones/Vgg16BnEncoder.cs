using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>Where one 2x2 max-pool took its maxima: the indices (for max-unpooling) and the size of the
/// map before pooling (so unpooling restores odd sides exactly).</summary>
public sealed record PoolingSwitches(Tensor Indices, long Height, long Width);

/// <summary><see cref="PoolingSwitches"/> in an ONNX graph: the indices and the map that was pooled.</summary>
public sealed record OnnxPoolingSwitches(OnnxValue Indices, OnnxValue Pooled);

/// <summary>
/// The VGG16-BN encoder of SegNet (Badrinarayanan, Kendall &amp; Cipolla, TPAMI 2017): 13 3x3
/// convolutions with BatchNorm and ReLU in five stages (64, 128, 256, 512, 512 channels; 2, 2, 3, 3, 3
/// convolutions), each stage followed by a 2x2/2 max-pool whose indices are kept. Children are laid out
/// like the shared reference definition (<c>ref_models.SegNet.enc</c>): <c>{stage}.{conv}.{0 conv, 1 bn}</c>.
/// </summary>
/// <remarks>ImageNet weights: torchvision's <c>vgg16_bn</c> <c>features.{k}</c> (convolutions at
/// 0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40, BatchNorm at k + 1) map onto
/// <c>{stage}.{conv}.0</c> / <c>.1</c> (<see cref="BackboneImport"/>).</remarks>
public sealed class Vgg16BnEncoder : Backbone, IOnnxFeatureExtractor
{
    /// <summary>Convolution widths per stage (torchvision's VGG "D" configuration).</summary>
    public static readonly IReadOnlyList<IReadOnlyList<int>> StageWidths = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];

    readonly Sequential[] stages;
    readonly List<FeatureMap> returns;

    /// <param name="widthDivisor">Divides every width (1: VGG16; larger for tiny models and tests).</param>
    public Vgg16BnEncoder(int inChannels = 3, Device? device = null, int widthDivisor = 1) : base(nameof(Vgg16BnEncoder))
    {
        if (widthDivisor < 1 || StageWidths.Any(s => s.Any(w => w % widthDivisor != 0)))
            throw new ArgumentOutOfRangeException(nameof(widthDivisor), widthDivisor, "must divide every VGG16 width (a power of two up to 64)");
        long channels = inChannels;
        var built = new List<Sequential>();
        foreach (var widths in StageWidths)
        {
            var stage = nn.Sequential();
            foreach (var width in widths)
            {
                stage.append(ConvBnRelu(channels, width / widthDivisor, device));
                channels = width / widthDivisor;
            }
            built.Add(stage);
        }
        stages = [.. built];
        ModuleChain.RegisterIndexed(this, stages);
        returns = [.. Enumerable.Range(0, 5).Select(i => new FeatureMap($"pool{i + 1}", StageWidths[i][^1] / widthDivisor, 2 << i))];
    }

    public override IReadOnlyList<FeatureMap> Returns => returns;

    /// <summary>3x3 convolution (padding 1, with bias as in SegNet's Caffe model), BatchNorm, ReLU.</summary>
    internal static Sequential ConvBnRelu(long inChannels, long outChannels, Device? device) =>
        nn.Sequential(
            nn.Conv2d(inChannels, outChannels, kernel_size: 3, padding: 1, device: device),
            nn.BatchNorm2d(outChannels, device: device),
            nn.ReLU(inplace: true));

    /// <summary>The pooled output of the last stage and the switches of all five pools, shallowest first.
    /// Sides must be at least 32 (five floor-mode halvings).</summary>
    public (Tensor Output, List<PoolingSwitches> Switches) Encode(Tensor input)
    {
        var switches = new List<PoolingSwitches>();
        var x = input;
        foreach (var stage in stages)
        {
            var features = ModuleChain.Run(stage.children().Cast<nn.Module<Tensor, Tensor>>(), x);
            if (!ReferenceEquals(x, input))
                x.Dispose();
            var (pooled, indices) = nn.functional.max_pool2d_with_indices(features, kernel_size: [2, 2], strides: [2, 2]);
            switches.Add(new PoolingSwitches(indices, features.shape[^2], features.shape[^1]));
            features.Dispose();
            x = pooled;
        }
        return (x, switches);
    }

    /// <summary><see cref="Encode"/> as an ONNX graph (MaxPool with its Indices output).</summary>
    public (OnnxValue Output, List<OnnxPoolingSwitches> Switches) ExportOnnxEncode(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var switches = new List<OnnxPoolingSwitches>();
        var x = input;
        for (var i = 0; i < stages.Length; i++)
        {
            var features = graph.Apply(stages[i], x);
            var (pooled, indices) = graph.MaxPoolWithIndices(features, [2, 2], [2, 2], $"{path}.pool{i + 1}");
            switches.Add(new OnnxPoolingSwitches(indices, features));
            x = pooled;
        }
        return (x, switches);
    }

    public Dictionary<string, OnnxValue> ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var maps = new Dictionary<string, OnnxValue>();
        var x = input;
        for (var i = 0; i < stages.Length; i++)
        {
            x = graph.MaxPool(graph.Apply(stages[i], x), [2, 2], [2, 2], [0, 0], [1, 1], false, $"{path}.pool{i + 1}");
            maps[$"pool{i + 1}"] = x;
        }
        return maps;
    }

    /// <summary>The five pooled maps "pool1" .. "pool5" (the Backbone contract; SegNet uses <see cref="Encode"/>).</summary>
    public override Dictionary<string, Tensor> forward(Tensor input)
    {
        var maps = new Dictionary<string, Tensor>();
        var x = input;
        for (var i = 0; i < stages.Length; i++)
        {
            using var features = ModuleChain.Run(stages[i].children().Cast<nn.Module<Tensor, Tensor>>(), x);
            x = nn.functional.max_pool2d(features, kernel_size: [2, 2], strides: [2, 2]);
            maps[$"pool{i + 1}"] = x;
        }
        return maps;
    }
}
