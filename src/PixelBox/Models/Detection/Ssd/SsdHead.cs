using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>What an SSD head runs on: the feature maps, their channels and their sizes for an input side.</summary>
public interface ISsdBackbone
{
    /// <summary>Channels of each returned map, shallowest first.</summary>
    IReadOnlyList<int> OutChannels { get; }

    /// <summary>Side of each map for a square input of <paramref name="side"/> pixels; ArgumentException when
    /// the input is too small for the deepest map.</summary>
    IReadOnlyList<long> MapSides(long side);
}

/// <summary>
/// torchvision's <c>SSDScoringHead</c>: one predictor per feature map in <c>module_list</c>, each giving
/// [N, A * K, H, W] (A boxes per cell, K numbers per box). torchvision then permutes and concatenates them to
/// [N, H W A, K]; here each map's output is returned as it is (the raw output, whose shape tells a decoder
/// the map size), and <see cref="Flatten"/> does torchvision's concatenation for the loss.
/// </summary>
public sealed class SsdScoringHead : nn.Module<Tensor[], Tensor[]>, IOnnxExportableMulti
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> module_list;

    public SsdScoringHead(IEnumerable<nn.Module<Tensor, Tensor>> predictors, int columns) : base(nameof(SsdScoringHead))
    {
        module_list = new ModuleList<nn.Module<Tensor, Tensor>>([.. predictors]);
        Columns = columns;
        RegisterComponents();
    }

    /// <summary>Numbers per box (4 for boxes, classes + 1 for scores).</summary>
    public int Columns { get; }

    public IEnumerable<nn.Module<Tensor, Tensor>> Predictors => module_list;

    public override Tensor[] forward(Tensor[] features)
    {
        if (features.Length != module_list.Count)
            throw new ArgumentException($"{features.Length} feature maps for a head of {module_list.Count}");
        return [.. features.Select((f, i) => module_list[i].call(f))];
    }

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] features) =>
        [.. features.Select((f, i) => graph.Apply((nn.Module)module_list[i], f))];

    /// <summary>torchvision's view(N, -1, K, H, W).permute(0, 3, 4, 1, 2).reshape(N, -1, K) of every map, concatenated: [N, sum H W A, K].</summary>
    public static Tensor Flatten(IEnumerable<Tensor> levels, int columns)
    {
        using var scope = NewDisposeScope();
        var parts = levels.Select(level =>
        {
            long n = level.shape[0], h = level.shape[2], w = level.shape[3];
            return level.view(n, -1, columns, h, w).permute(0, 3, 4, 1, 2).reshape(n, -1, columns);
        }).ToList();
        return cat(parts, 1).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// torchvision's <c>SSDHead</c> and <c>SSDLiteHead</c>: a <c>classification_head</c> (classes + 1 scores per box,
/// background first) and a <c>regression_head</c> (4 box codes per box). Raw output: the regression maps of
/// every level, then the classification maps.
/// </summary>
public sealed class SsdHead : nn.Module<Tensor[], Tensor[]>, IOnnxExportableMulti
{
    readonly SsdScoringHead classification_head;
    readonly SsdScoringHead regression_head;

    SsdHead(SsdScoringHead classification, SsdScoringHead regression) : base(nameof(SsdHead))
    {
        classification_head = classification;
        regression_head = regression;
        RegisterComponents();
    }

    public SsdScoringHead Classification => classification_head;

    public SsdScoringHead Regression => regression_head;

    /// <summary>SSD's head: a 3x3 convolution per map (Xavier-uniform, bias 0), as torchvision's SSDHead.</summary>
    public static SsdHead Plain(IReadOnlyList<int> inChannels, IReadOnlyList<int> anchors, int classesWithBackground, Device? device = null)
    {
        Conv2d Predictor(int channels, int outputs)
        {
            var conv = nn.Conv2d(channels, outputs, kernel_size: 3, padding: 1, device: device);
            using var noGrad = no_grad();
            nn.init.xavier_uniform_(conv.weight);
            nn.init.zeros_(conv.bias);
            return conv;
        }
        return new SsdHead(
            new SsdScoringHead(inChannels.Select((c, i) => (nn.Module<Tensor, Tensor>)Predictor(c, classesWithBackground * anchors[i])), classesWithBackground),
            new SsdScoringHead(inChannels.Select((c, i) => (nn.Module<Tensor, Tensor>)Predictor(c, 4 * anchors[i])), 4));
    }

    /// <summary>
    /// SSDlite's head (Sandler et al. 2018, section 6.3; torchvision's SSDLiteHead): per map a depthwise 3x3
    /// convolution + BatchNorm + ReLU6 then a 1x1 convolution (torchvision's _prediction_block); weights
    /// N(0, 0.03), biases 0.
    /// </summary>
    public static SsdHead Lite(IReadOnlyList<int> inChannels, IReadOnlyList<int> anchors, int classesWithBackground,
        Func<long, BatchNorm2d> norm, Device? device = null)
    {
        Sequential Predictor(int channels, int outputs)
        {
            var block = nn.Sequential(
                SsdLiteBlocks.ConvNormActivation(channels, channels, 3, 1, channels, norm, device),
                nn.Conv2d(channels, outputs, kernel_size: 1, device: device));
            SsdLiteBlocks.NormalInit(block);
            return block;
        }
        return new SsdHead(
            new SsdScoringHead(inChannels.Select((c, i) => (nn.Module<Tensor, Tensor>)Predictor(c, classesWithBackground * anchors[i])), classesWithBackground),
            new SsdScoringHead(inChannels.Select((c, i) => (nn.Module<Tensor, Tensor>)Predictor(c, 4 * anchors[i])), 4));
    }

    /// <summary>The regression maps of every level, then the classification maps (2 x levels raw outputs).</summary>
    public override Tensor[] forward(Tensor[] features) =>
        [.. regression_head.call(features), .. classification_head.call(features)];

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] features) =>
        [.. regression_head.ExportOnnx(graph, features), .. classification_head.ExportOnnx(graph, features)];
}
