using PixelBox.Data;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.YoloV1;

/// <summary>
/// A convolution of a YOLOv1 layout: (kernel, out channels, stride), or a 2x2/2 max-pool when Channels is 0.
/// </summary>
public readonly record struct YoloV1Layer(int Kernel, int Channels, int Stride = 1)
{
    public static YoloV1Layer Pool { get; } = new(2, 0, 2);
}

/// <summary>
/// A YOLOv1 network shape: the convolutions (each followed by leaky ReLU 0.1, with BatchNorm or a bias), the
/// width of the fully connected layer, dropout, grid S, boxes per cell B and the input side (S times the
/// convolutions' total stride: the fully connected head fixes it).
/// </summary>
public sealed record YoloV1Layout(
    string Name, IReadOnlyList<YoloV1Layer> Layers, int HiddenWidth, double Dropout, bool BatchNorm, int Grid = 7, int BoxesPerCell = 2,
    int ReducedChannels = 0)
{
    /// <summary>Total stride of the convolutions.</summary>
    public int Stride => Layers.Aggregate(1, (s, l) => s * l.Stride);

    /// <summary>The input side the head is built for: Grid x Stride.</summary>
    public int InputSize => Grid * Stride;

    public int ConvolutionCount => Layers.Count(l => l.Channels > 0);

    /// <summary>
    /// The paper's network (Redmon et al. 2015, Fig. 3): 24 convolutions (7x7/2 64, pool, 3x3 192, pool, 1x1 128,
    /// 3x3 256, 1x1 256, 3x3 512, pool, 4 x (1x1 256, 3x3 512), 1x1 512, 3x3 1024, pool, 2 x (1x1 512, 3x3 1024),
    /// 3x3 1024, 3x3/2 1024, 3x3 1024, 3x3 1024), leaky ReLU 0.1, a 4096-wide fully connected layer, dropout 0.5,
    /// and the 7 x 7 x (5B + C) output; 448 x 448 inputs. Convolutions have biases (no BatchNorm in v1).
    /// </summary>
    public static YoloV1Layout Paper { get; } = new("paper",
    [
        new(7, 64, 2), YoloV1Layer.Pool,
        new(3, 192), YoloV1Layer.Pool,
        new(1, 128), new(3, 256), new(1, 256), new(3, 512), YoloV1Layer.Pool,
        new(1, 256), new(3, 512), new(1, 256), new(3, 512), new(1, 256), new(3, 512), new(1, 256), new(3, 512),
        new(1, 512), new(3, 1024), YoloV1Layer.Pool,
        new(1, 512), new(3, 1024), new(1, 512), new(3, 1024), new(3, 1024), new(3, 1024, 2),
        new(3, 1024), new(3, 1024),
    ], HiddenWidth: 4096, Dropout: 0.5, BatchNorm: false);

    /// <summary>
    /// A CPU-trainable YOLOv1: six 3x3 convolutions with BatchNorm (16 .. 256 channels, four 2x2 pools, stride
    /// 16), a 1x1 reduction to 64 channels, a 512-wide fully connected layer, dropout 0.1; 7 x 7 grid on 112 x 112
    /// inputs. Everything after the convolutions (the fully connected head, the output, the loss) is the paper's.
    /// </summary>
    public static YoloV1Layout Cpu { get; } = new("cpu",
    [
        new(3, 16), YoloV1Layer.Pool,
        new(3, 32), YoloV1Layer.Pool,
        new(3, 64), YoloV1Layer.Pool,
        new(3, 128), YoloV1Layer.Pool,
        new(3, 256), new(3, 256),
    ], HiddenWidth: 512, Dropout: 0.1, BatchNorm: true, ReducedChannels: 64);
}

/// <summary>
/// YOLOv1, "You Only Look Once" (Redmon, Divvala, Girshick &amp; Farhadi, CVPR 2016; arXiv 2015): the image is
/// an S x S grid; each cell predicts B boxes (x, y: the centre's offset in the cell, sqrt(w), sqrt(h): relative
/// to the image, and a confidence) and one class distribution; the whole grid comes from fully connected
/// layers over the last feature map, so every prediction sees the whole image. Trained with the paper's
/// sum-squared loss (<see cref="YoloV1Loss"/>), decoded with class-specific confidences and NMS
/// (<see cref="YoloV1Decoder"/>).
/// </summary>
/// <remarks>
/// Raw output [N, S, S, 5B + C]: per cell B x (x, y, sqrt w, sqrt h, confidence), then C class
/// probabilities, all from a linear layer as in the paper. The network predicts sqrt(w) and sqrt(h) directly
/// (the paper's loss compares square roots; squaring a prediction gives the width). Parameters are
/// <c>features.*</c> (convolutions, pools, activations in order) and <c>classifier.*</c> (flatten, linear,
/// leaky ReLU, dropout, linear); there is no reference implementation in PyTorch to match names with.
/// </remarks>
public sealed class YoloV1Detector : DetectionModel, IOnnxExportableMulti
{
    readonly Sequential features;
    readonly Sequential classifier;
    readonly YoloV1Decoder decoder;
    readonly YoloV1Loss loss;

    public YoloV1Detector(YoloV1Layout layout, int numClasses, int inChannels = 3, DetectionSettings? settings = null, Device? device = null)
        : base("YOLOv1-" + layout.Name, numClasses, inChannels, settings ?? DefaultSettings(layout))
    {
        Settings.Validate();
        if (Settings.InputSize != layout.InputSize)
            throw new ArgumentException($"YOLOv1 ({layout.Name}) takes {layout.InputSize} x {layout.InputSize} inputs: its fully connected head " +
                                        $"is built for a {layout.Grid} x {layout.Grid} grid of {layout.Stride}-pixel cells (got {Settings.InputSize})");
        Layout = layout;
        features = nn.Sequential();
        long channels = inChannels;
        foreach (var layer in layout.Layers)
        {
            if (layer.Channels == 0)
            {
                features.append(nn.MaxPool2d(kernel_size: layer.Kernel, stride: layer.Stride));
                continue;
            }
            features.append(nn.Conv2d(channels, layer.Channels, kernel_size: layer.Kernel, stride: layer.Stride, padding: layer.Kernel / 2,
                bias: !layout.BatchNorm, device: device));
            if (layout.BatchNorm)
                features.append(nn.BatchNorm2d(layer.Channels, device: device));
            features.append(nn.LeakyReLU(0.1, inplace: true));
            channels = layer.Channels;
        }
        if (layout.ReducedChannels > 0)
        {
            features.append(nn.Conv2d(channels, layout.ReducedChannels, kernel_size: 1, bias: !layout.BatchNorm, device: device));
            if (layout.BatchNorm)
                features.append(nn.BatchNorm2d(layout.ReducedChannels, device: device));
            features.append(nn.LeakyReLU(0.1, inplace: true));
            channels = layout.ReducedChannels;
        }
        int s = layout.Grid;
        classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * s * s, layout.HiddenWidth, device: device),
            nn.LeakyReLU(0.1, inplace: true),
            nn.Dropout(layout.Dropout),
            nn.Linear(layout.HiddenWidth, (long)s * s * CellValues, device: device));
        RegisterComponents();
        decoder = new YoloV1Decoder(numClasses, layout.Grid, layout.BoxesPerCell);
        loss = new YoloV1Loss(numClasses, layout.Grid, layout.BoxesPerCell);
    }

    public YoloV1Layout Layout { get; }

    /// <summary>Numbers per cell: 5B + C.</summary>
    public int CellValues => 5 * Layout.BoxesPerCell + NumClasses;

    public override IDetectionDecoder Decoder => decoder;

    /// <summary>The paper's test-time setting where it states one (NMS), else this project's detection defaults:
    /// stretched to the layout's input side, pixels scaled to [0, 1], class-specific confidences above 0.001,
    /// NMS IoU 0.5, at most 100 detections.</summary>
    public static DetectionSettings DefaultSettings(YoloV1Layout layout) => new()
    {
        InputSize = layout.InputSize,
        Resize = ResizeMode.Stretch,
        Normalization = new Normalization([0f, 0f, 0f], [1f, 1f, 1f]),
        ScoreThreshold = 0.001,
        CandidatesPerClass = 1000,
        NmsIou = 0.5,
        MaxDetections = 100,
    };

    /// <summary>Raw output [N, S, S, 5B + C] (see the class remarks).</summary>
    public override Tensor[] forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InChannels || images.shape[2] != Layout.InputSize || images.shape[3] != Layout.InputSize)
            throw new ArgumentException($"YOLOv1 ({Layout.Name}) takes images [N, {InChannels}, {Layout.InputSize}, {Layout.InputSize}], got [{string.Join(", ", images.shape)}]");
        using var scope = NewDisposeScope();
        var output = classifier.call(features.call(images)).view(images.shape[0], Layout.Grid, Layout.Grid, CellValues);
        return [output.MoveToOuterDisposeScope()];
    }

    /// <summary>The forward as an ONNX graph: [N, grid, grid, cell values]. Static size only (the fully connected head).</summary>
    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var images = inputs[0];
        if (images.Dim(2) != Layout.InputSize || images.Dim(3) != Layout.InputSize)
            throw new NotSupportedException($"YOLOv1 ({Layout.Name}) takes {Layout.InputSize}x{Layout.InputSize} inputs only (its fully connected head): " +
                                            $"export it at that size, without --dynamic-size");
        var output = graph.Apply(classifier, graph.Apply(features, images));
        return [graph.Reshape(output, [-1, Layout.Grid, Layout.Grid, CellValues], "grid")];
    }

    public override IReadOnlyList<(string Name, Tensor Value)> ComputeLosses(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize) =>
        loss.Compute(outputs[0], targets, inputSize);
}
