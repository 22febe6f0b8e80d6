using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// SegNet (Badrinarayanan, Kendall &amp; Cipolla, "SegNet: A Deep Convolutional Encoder-Decoder
/// Architecture for Image Segmentation", TPAMI 2017): the VGG16-BN encoder (<see cref="Vgg16BnEncoder"/>,
/// 13 convolutions, five 2x2 max-pools whose indices are kept) and a mirrored decoder that max-unpools
/// with those indices (to the exact pre-pool size, so odd sides work) and densifies with 3x3
/// convolutions + BatchNorm + ReLU; the last decoder convolution is a plain 3x3 convolution to the classes.
/// </summary>
/// <remarks>
/// Layout of the authors' Caffe model (segnet_train.prototxt) as the shared reference definition
/// <c>ref_models.SegNet</c> writes it in PyTorch, names included: <c>enc.{stage}.{conv}.{0,1}</c>,
/// decoder stages <c>dec.0</c> (after unpooling pool5: 512, 512, 512), <c>dec.1</c> (512, 512, 256),
/// <c>dec.2</c> (256, 256, 128), <c>dec.3</c> (128, 64), <c>dec.4</c> (64) and <c>classifier</c>
/// (64 -> classes). 13 encoder + 13 decoder convolutions; 29,455,125 parameters for 21 classes
/// (29,449,932 for the paper's 12 CamVid classes). Sides of at least 32 pixels.
/// </remarks>
public sealed class SegNet : SegmentationModel, IOnnxExportable
{
    /// <summary>Decoder stages from the deepest: input channels and convolution widths.</summary>
    static readonly (int In, int[] Widths)[] DecoderStages =
    [
        (512, [512, 512, 512]),
        (512, [512, 512, 256]),
        (256, [256, 256, 128]),
        (128, [128, 64]),
        (64, [64]),
    ];

    readonly Vgg16BnEncoder enc;
    readonly ModuleList<Sequential> dec;
    readonly Conv2d classifier;

    /// <param name="widthDivisor">Divides every width (1: the paper's; larger for tiny models and tests).</param>
    public SegNet(int numClasses = 21, int inChannels = 3, Device? device = null, int widthDivisor = 1) : base("segnet", numClasses, inChannels)
    {
        enc = new Vgg16BnEncoder(inChannels, device, widthDivisor);
        dec = new ModuleList<Sequential>();
        foreach (var (inWidth, widths) in DecoderStages)
        {
            var stage = nn.Sequential();
            long channels = inWidth / widthDivisor;
            foreach (var width in widths)
            {
                stage.append(Vgg16BnEncoder.ConvBnRelu(channels, width / widthDivisor, device));
                channels = width / widthDivisor;
            }
            dec.append(stage);
        }
        classifier = nn.Conv2d(64 / widthDivisor, numClasses, kernel_size: 3, padding: 1, device: device);
        RegisterComponents();
    }

    public Vgg16BnEncoder Encoder => enc;

    /// <summary>Five floor-mode 2x2 pools need sides of at least 32; unpooling restores the exact size.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 32 ? inputSize : throw new ArgumentException($"SegNet needs sides of at least 32 pixels (five 2x2 max-pools), got {inputSize}", nameof(inputSize));

    /// <summary>The forward as an ONNX graph: MaxPool with Indices, MaxUnpool to each pooled map's shape.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var (x, switches) = enc.ExportOnnxEncode(graph, input);
        for (var k = 0; k < dec.Count; k++)
        {
            var pool = switches[switches.Count - 1 - k];
            x = graph.Apply(dec[k], graph.MaxUnpool(x, pool.Indices, [2, 2], [2, 2], pool.Pooled, $"dec.{k}.unpool"));
        }
        return graph.Apply(classifier, x);
    }

    public override Tensor forward(Tensor input)
    {
        OutputSize((int)input.shape[^2]);
        OutputSize((int)input.shape[^1]);
        using var scope = NewDisposeScope();
        var (x, switches) = enc.Encode(input);
        for (var k = 0; k < dec.Count; k++)
        {
            var pool = switches[switches.Count - 1 - k];
            // the full [N, C, H, W]: libtorch's C++ _unpool_output_size drops a 2-element output_size
            var unpooled = nn.functional.max_unpool2d(x, pool.Indices, kernel_size: [2, 2], stride: [2, 2], padding: [0, 0],
                output_size: [x.shape[0], x.shape[1], pool.Height, pool.Width]);
            x.Dispose();
            pool.Indices.Dispose();
            x = ModuleChain.Run(dec[k].children().Cast<nn.Module<Tensor, Tensor>>(), unpooled);
            unpooled.Dispose();
        }
        return classifier.call(x).MoveToOuterDisposeScope();
    }
}
