using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// Atrous spatial pyramid pooling (Chen et al. 2017) as torchvision's <c>ASPP</c>: <c>convs.0</c> a 1x1
/// branch, <c>convs.1..</c> one dilated 3x3 branch per rate, the last <c>convs</c> entry image pooling
/// (global average, 1x1, BatchNorm, ReLU, resized back), each branch <c>out</c> channels with BatchNorm and
/// ReLU; <c>project</c> = 1x1 over their concatenation, BatchNorm, ReLU, dropout.
/// </summary>
public sealed class Aspp : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ModuleList<nn.Module<Tensor, Tensor>> convs;
    readonly Sequential project;

    /// <param name="dropout">Dropout after the projection: 0.5 in torchvision's DeepLabV3, 0.1 in DeepLabV3+ implementations.</param>
    public Aspp(long inChannels, IReadOnlyList<int> atrousRates, long outChannels = 256, double dropout = 0.5, Device? device = null)
        : base("ASPP")
    {
        convs = new ModuleList<nn.Module<Tensor, Tensor>>();
        convs.append(nn.Sequential(
            nn.Conv2d(inChannels, outChannels, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(outChannels, device: device),
            nn.ReLU(inplace: true)));
        foreach (var rate in atrousRates)
            convs.append(nn.Sequential(
                nn.Conv2d(inChannels, outChannels, kernel_size: 3, padding: rate, dilation: rate, bias: false, device: device),
                nn.BatchNorm2d(outChannels, device: device),
                nn.ReLU(inplace: true)));
        convs.append(new AsppPooling(inChannels, outChannels, device));
        project = nn.Sequential(
            nn.Conv2d(convs.Count * outChannels, outChannels, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(outChannels, device: device),
            nn.ReLU(inplace: true),
            nn.Dropout(dropout));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var branches = convs.Select(branch => branch.call(input)).ToList();
        return project.call(cat(branches, dim: 1)).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input) =>
        graph.Apply(project, graph.Concat([.. convs.Select(branch => graph.Apply(branch, input))], name: graph.PathOf(this) + ".cat"));
}

/// <summary>torchvision's <c>ASPPPooling</c> (a Sequential with its own forward): children 0 global
/// average, 1 conv 1x1, 2 BatchNorm, 3 ReLU; the 1x1 result is resized bilinearly to the input's size.</summary>
public sealed class AsppPooling : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly nn.Module<Tensor, Tensor>[] layers;

    public AsppPooling(long inChannels, long outChannels, Device? device = null) : base("ASPPPooling")
    {
        layers =
        [
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(inChannels, outChannels, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(outChannels, device: device),
            nn.ReLU(inplace: true),
        ];
        ModuleChain.RegisterIndexed(this, layers);
    }

    public override Tensor forward(Tensor input)
    {
        using var pooled = ModuleChain.Run(layers, input);
        return ModuleChain.Resize(pooled, input.shape[^2], input.shape[^1], alignCorners: false);
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var pooled = graph.Apply(layers[3], graph.Conv(graph.Apply(layers[0], input), (Conv2d)layers[1], (BatchNorm2d)layers[2]));
        return graph.ResizeLike(pooled, input, bilinear: true, path + ".resize");
    }
}

/// <summary>torchvision's <c>DeepLabHead</c> (a Sequential): 0 <see cref="Aspp"/> (rates 12, 24, 36),
/// 1 3x3 convolution 256 -> 256 without bias, 2 BatchNorm, 3 ReLU, 4 1x1 convolution to the classes.</summary>
public static class DeepLabHead
{
    public static readonly IReadOnlyList<int> TorchVisionRates = [12, 24, 36];

    /// <param name="channels">Width of the ASPP branches and the head (torchvision: 256).</param>
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long numClasses, IReadOnlyList<int>? atrousRates = null, Device? device = null,
        long channels = 256) =>
        nn.Sequential(
            new Aspp(inChannels, atrousRates ?? TorchVisionRates, channels, 0.5, device),
            nn.Conv2d(channels, channels, kernel_size: 3, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(channels, device: device),
            nn.ReLU(inplace: true),
            nn.Conv2d(channels, numClasses, kernel_size: 1, device: device));
}
