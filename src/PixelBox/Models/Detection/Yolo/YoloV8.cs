using PixelBox.Data;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Yolo;

/// <summary>
/// A size of YOLOv8 (ultralytics' yolov8.yaml "scales"): repeats of the C2f blocks are multiplied by
/// <paramref name="Depth"/> (Python's round, at least 1), channels by <paramref name="Width"/> after capping
/// them at <paramref name="MaxChannels"/>, rounded up to a multiple of 8.
/// </summary>
public sealed record YoloScale(string Name, double Depth, double Width, int MaxChannels)
{
    public static YoloScale N { get; } = new("n", 0.33, 0.25, 1024);
    public static YoloScale S { get; } = new("s", 0.33, 0.50, 1024);
    public static YoloScale M { get; } = new("m", 0.67, 0.75, 768);
    public static YoloScale L { get; } = new("l", 1.00, 1.00, 512);
    public static YoloScale X { get; } = new("x", 1.00, 1.25, 512);

    public static IReadOnlyList<YoloScale> All { get; } = [N, S, M, L, X];

    /// <summary>ultralytics' make_divisible(min(c, max) * width, 8).</summary>
    public long Channels(int channels) => (long)Math.Ceiling(Math.Min(channels, MaxChannels) * Width / 8) * 8;

    /// <summary>ultralytics' max(round(n * depth), 1) for n &gt; 1 (round half to even, as Python).</summary>
    public int Repeats(int repeats) => repeats > 1 ? Math.Max((int)Math.Round(repeats * Depth, MidpointRounding.ToEven), 1) : repeats;
}

/// <summary>
/// YOLOv8 (ultralytics, 2023), the default detector: anchor-free, one stage. A CSP backbone of strided 3x3
/// Conv blocks and C2f blocks ending in SPPF; a PAN feature pyramid (top-down then bottom-up, C2f blocks
/// without shortcuts) over strides 8, 16 and 32; the decoupled <see cref="YoloHead"/>. Trained with the
/// task-aligned assigner, BCE classification, CIoU and distribution focal loss (<see cref="YoloLoss"/>);
/// decoded without libtorch by <see cref="YoloDecoder"/>.
/// </summary>
/// <remarks>
/// Layout and names follow ultralytics' yolov8.yaml: the layers are <c>model.0</c> .. <c>model.22</c> in the
/// yaml's order (the parameter-free upsampling and concatenation layers keep their indices), each block with
/// ultralytics' attribute names, so state-dict keys are ultralytics' (<c>model.2.m.0.cv1.conv.weight</c>,
/// <c>model.22.cv3.1.2.bias</c>, <c>model.22.dfl.conv.weight</c>). Parameter counts with 80 classes: n
/// 3,157,200 and s 11,166,560, as ultralytics reports them. Input sides must be multiples of 32.
/// <code>
///  0 Conv 64 /2   1 Conv 128 /2   2 C2f 128 x3   3 Conv 256 /2   4 C2f 256 x6 (P3)   5 Conv 512 /2
///  6 C2f 512 x6 (P4)   7 Conv 1024 /2   8 C2f 1024 x3   9 SPPF 1024 (P5)
/// 10 up  11 cat 6  12 C2f 512 x3   13 up  14 cat 4  15 C2f 256 x3 (out P3)
/// 16 Conv 256 /2  17 cat 12  18 C2f 512 x3 (out P4)   19 Conv 512 /2  20 cat 9  21 C2f 1024 x3 (out P5)
/// 22 Detect(P3, P4, P5)                     (channels and repeats before scaling)
/// </code>
/// </remarks>
public sealed class YoloV8 : DetectionModel, IOnnxExportableMulti
{
    /// <summary>Pixels per cell of the three output levels.</summary>
    public static readonly int[] Strides = [8, 16, 32];

    readonly ModuleList<nn.Module> model;
    readonly Layers layers;
    readonly YoloDecoder decoder;
    YoloLoss? loss;

    public YoloV8(YoloScale scale, int numClasses, int inChannels = 3, DetectionSettings? settings = null, Device? device = null)
        : base("YOLOv8" + scale.Name, numClasses, inChannels, settings ?? DefaultSettings())
    {
        Settings.Validate();
        if (Settings.InputSize % Strides[^1] != 0)
            throw new ArgumentException($"YOLOv8's input side must be a multiple of {Strides[^1]} (got {Settings.InputSize})");
        Scale = scale;
        long Ch(int c) => scale.Channels(c);
        int N(int n) => scale.Repeats(n);
        layers = new Layers(
            new ConvBnSiLU(inChannels, Ch(64), 3, 2, device),
            new ConvBnSiLU(Ch(64), Ch(128), 3, 2, device),
            new C2f(Ch(128), Ch(128), N(3), shortcut: true, device),
            new ConvBnSiLU(Ch(128), Ch(256), 3, 2, device),
            new C2f(Ch(256), Ch(256), N(6), shortcut: true, device),
            new ConvBnSiLU(Ch(256), Ch(512), 3, 2, device),
            new C2f(Ch(512), Ch(512), N(6), shortcut: true, device),
            new ConvBnSiLU(Ch(512), Ch(1024), 3, 2, device),
            new C2f(Ch(1024), Ch(1024), N(3), shortcut: true, device),
            new Sppf(Ch(1024), Ch(1024), 5, device),
            nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest),
            new Concat(),
            new C2f(Ch(1024) + Ch(512), Ch(512), N(3), shortcut: false, device),
            nn.Upsample(scale_factor: [2.0, 2.0], mode: UpsampleMode.Nearest),
            new Concat(),
            new C2f(Ch(512) + Ch(256), Ch(256), N(3), shortcut: false, device),
            new ConvBnSiLU(Ch(256), Ch(256), 3, 2, device),
            new Concat(),
            new C2f(Ch(256) + Ch(512), Ch(512), N(3), shortcut: false, device),
            new ConvBnSiLU(Ch(512), Ch(512), 3, 2, device),
            new Concat(),
            new C2f(Ch(512) + Ch(1024), Ch(1024), N(3), shortcut: false, device),
            new YoloHead(numClasses, [Ch(256), Ch(512), Ch(1024)], device: device));
        model = new ModuleList<nn.Module>(layers.InOrder());
        RegisterComponents();
        layers.Head.InitializeBiases(Strides, Settings.InputSize);
        decoder = new YoloDecoder(numClasses, layers.Head.Bins);
    }

    public YoloScale Scale { get; }

    public YoloHead Head => layers.Head;

    public override IDetectionDecoder Decoder => decoder;

    /// <summary>ultralytics' defaults: 640 x 640 letterboxed (grey 114), pixels scaled to [0, 1], score
    /// threshold 0.001 and NMS IoU 0.7 as in its validation, at most 300 detections.</summary>
    public static DetectionSettings DefaultSettings(int inputSize = 640) => new()
    {
        InputSize = inputSize,
        Resize = ResizeMode.Letterbox,
        Normalization = new Normalization([0f, 0f, 0f], [1f, 1f, 1f]),
        ScoreThreshold = 0.001,
        CandidatesPerClass = 1000,
        NmsIou = 0.7,
        MaxDetections = 300,
    };

    /// <summary>Raw outputs, one per level (strides 8, 16, 32): [N, 4 * bins + classes, H / s, W / s].</summary>
    public override Tensor[] forward(Tensor images)
    {
        CheckInput(images);
        using var scope = NewDisposeScope();
        var l = layers;
        var p3 = l.C2fP3.call(l.DownP3.call(l.C2fP2.call(l.DownP2.call(l.Stem.call(images)))));
        var p4 = l.C2fP4.call(l.DownP4.call(p3));
        var p5 = l.Sppf.call(l.C2fP5.call(l.DownP5.call(p4)));
        var topDown4 = l.TopDownP4.call(l.Cat11.call([l.Up10.call(p5), p4]));
        var out3 = l.TopDownP3.call(l.Cat14.call([l.Up13.call(topDown4), p3]));
        var out4 = l.BottomUpP4.call(l.Cat17.call([l.DownPan16.call(out3), topDown4]));
        var out5 = l.BottomUpP5.call(l.Cat20.call([l.DownPan19.call(out4), p5]));
        var outputs = l.Head.call([out3, out4, out5]);
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>The forward as an ONNX graph: the three levels' raw outputs.</summary>
    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var l = layers;
        var p3 = graph.Apply(l.C2fP3, graph.Apply(l.DownP3, graph.Apply(l.C2fP2, graph.Apply(l.DownP2, graph.Apply(l.Stem, inputs[0])))));
        var p4 = graph.Apply(l.C2fP4, graph.Apply(l.DownP4, p3));
        var p5 = graph.Apply(l.Sppf, graph.Apply(l.C2fP5, graph.Apply(l.DownP5, p4)));
        var topDown4 = graph.Apply(l.TopDownP4, graph.Concat([graph.Apply(l.Up10, p5), p4], name: "model.11"));
        var out3 = graph.Apply(l.TopDownP3, graph.Concat([graph.Apply(l.Up13, topDown4), p3], name: "model.14"));
        var out4 = graph.Apply(l.BottomUpP4, graph.Concat([graph.Apply(l.DownPan16, out3), topDown4], name: "model.17"));
        var out5 = graph.Apply(l.BottomUpP5, graph.Concat([graph.Apply(l.DownPan19, out4), p5], name: "model.20"));
        return graph.Apply(l.Head, out3, out4, out5);
    }

    public override IReadOnlyList<(string Name, Tensor Value)> ComputeLosses(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        loss ??= new YoloLoss(NumClasses, layers.Head, Strides);
        return loss.Compute(outputs, targets, inputSize);
    }

    void CheckInput(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InChannels)
            throw new ArgumentException($"expected images [N, {InChannels}, H, W], got [{string.Join(", ", images.shape)}]");
        long h = images.shape[2], w = images.shape[3];
        if (h % Strides[^1] != 0 || w % Strides[^1] != 0 || h == 0 || w == 0)
            throw new ArgumentException($"YOLOv8 needs image sides that are positive multiples of {Strides[^1]}, got {h}x{w}");
    }

    /// <summary>The layers by role, in ultralytics' order (a plain object, so nothing is registered twice).</summary>
    sealed record Layers(
        ConvBnSiLU Stem, ConvBnSiLU DownP2, C2f C2fP2, ConvBnSiLU DownP3, C2f C2fP3, ConvBnSiLU DownP4, C2f C2fP4,
        ConvBnSiLU DownP5, C2f C2fP5, Sppf Sppf, Upsample Up10, Concat Cat11, C2f TopDownP4, Upsample Up13, Concat Cat14,
        C2f TopDownP3, ConvBnSiLU DownPan16, Concat Cat17, C2f BottomUpP4, ConvBnSiLU DownPan19, Concat Cat20,
        C2f BottomUpP5, YoloHead Head)
    {
        public nn.Module[] InOrder() =>
        [
            Stem, DownP2, C2fP2, DownP3, C2fP3, DownP4, C2fP4, DownP5, C2fP5, Sppf, Up10, Cat11, TopDownP4, Up13, Cat14,
            TopDownP3, DownPan16, Cat17, BottomUpP4, DownPan19, Cat20, BottomUpP5, Head,
        ];
    }
}
