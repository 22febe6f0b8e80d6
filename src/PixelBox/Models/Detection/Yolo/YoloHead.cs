using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Yolo;

/// <summary>
/// ultralytics' <c>Detect</c> head of YOLOv8: for every pyramid level a box branch <c>cv2</c> (two 3x3 Conv
/// blocks of c2 = max(16, ch0/4, 4 * bins) channels, then a 1x1 convolution to 4 * bins distance logits) and a
/// decoupled class branch <c>cv3</c> (two 3x3 Conv blocks of c3 = max(ch0, min(classes, 100)) channels, then a
/// 1x1 convolution to one logit per class). Each level's raw output is the two concatenated:
/// [N, 4 * bins + classes, H, W], distances of the left, top, right and bottom sides (bins logits each, in
/// units of the level's stride) first, class logits after.
/// </summary>
public sealed class YoloHead : nn.Module<Tensor[], Tensor[]>, IOnnxExportableMulti
{
    readonly ModuleList<Sequential> cv2;
    readonly ModuleList<Sequential> cv3;
    readonly Dfl dfl;
    // the last convolutions of each branch again, for the bias initialisation (a List is not registered)
    readonly List<Conv2d> boxOutputs = [];
    readonly List<Conv2d> classOutputs = [];

    /// <summary>ultralytics' reg_max.</summary>
    public const int DefaultBins = 16;

    public YoloHead(int numClasses, IReadOnlyList<long> channels, int bins = DefaultBins, Device? device = null) : base("Detect")
    {
        NumClasses = numClasses;
        Bins = bins;
        long c2 = Math.Max(Math.Max(16, channels[0] / 4), 4L * bins);
        long c3 = Math.Max(channels[0], Math.Min(numClasses, 100));
        cv2 = new ModuleList<Sequential>();
        cv3 = new ModuleList<Sequential>();
        foreach (var c in channels)
        {
            boxOutputs.Add(nn.Conv2d(c2, 4L * bins, 1, device: device));
            classOutputs.Add(nn.Conv2d(c3, numClasses, 1, device: device));
            cv2.append(nn.Sequential(
                new ConvBnSiLU(c, c2, 3, device: device),
                new ConvBnSiLU(c2, c2, 3, device: device),
                boxOutputs[^1]));
            cv3.append(nn.Sequential(
                new ConvBnSiLU(c, c3, 3, device: device),
                new ConvBnSiLU(c3, c3, 3, device: device),
                classOutputs[^1]));
        }
        dfl = new Dfl(bins, device);
        RegisterComponents();
    }

    public int NumClasses { get; }

    /// <summary>Bins of each side's distance distribution (ultralytics' reg_max).</summary>
    public int Bins { get; }

    public int Levels => cv2.Count;

    /// <summary>The expected distances [B, 4, A] of distance logits [B, 4 * bins, A].</summary>
    public Tensor ExpectedDistances(Tensor distribution) => dfl.call(distribution);

    public override Tensor[] forward(Tensor[] features)
    {
        if (features.Length != cv2.Count)
            throw new ArgumentException($"the head has {cv2.Count} levels, got {features.Length} feature maps");
        var outputs = new Tensor[features.Length];
        for (int i = 0; i < features.Length; i++)
        {
            using var box = cv2[i].call(features[i]);
            using var cls = cv3[i].call(features[i]);
            outputs[i] = cat([box, cls], 1);
        }
        return outputs;
    }

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] features)
    {
        var path = graph.PathOf(this);
        return [.. features.Select((f, i) => graph.Concat([graph.Apply(cv2[i], f), graph.Apply(cv3[i], f)], name: $"{path}.cat{i}"))];
    }

    /// <summary>
    /// ultralytics' Detect.bias_init: box logits start at 1 (a flat distance distribution) and class logits at
    /// log(5 / classes / cells), a prior of about five objects per image spread over the level's cells
    /// (ultralytics takes the cells of a 640 image; here those of the model's own input size).
    /// </summary>
    public void InitializeBiases(IReadOnlyList<int> strides, int inputSize)
    {
        using var noGrad = no_grad();
        for (int i = 0; i < cv2.Count; i++)
        {
            var box = boxOutputs[i];
            var cls = classOutputs[i];
            if (box.bias!.device_type == DeviceType.META)
                return;
            box.bias.fill_(1.0);
            double cells = Math.Pow((double)inputSize / strides[i], 2);
            cls.bias!.fill_(Math.Log(5.0 / NumClasses / cells));
        }
    }
}
