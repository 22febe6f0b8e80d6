using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Yolo;

// The building blocks of YOLOv8 as ultralytics defines them (ultralytics/nn/modules/conv.py and block.py),
// with the same attribute names (conv, bn, cv1, cv2, m) so that state-dict keys are ultralytics' keys.

/// <summary>ultralytics' <c>Conv</c>: a bias-free convolution padded to keep the size ("same" for odd kernels),
/// BatchNorm2d (eps 1e-3, momentum 0.03, as ultralytics' initialize_weights sets) and SiLU.</summary>
public sealed class ConvBnSiLU : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly Conv2d conv;
    readonly BatchNorm2d bn;

    public ConvBnSiLU(long inChannels, long outChannels, long kernel = 1, long stride = 1, Device? device = null) : base("Conv")
    {
        conv = nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: kernel / 2, bias: false, device: device);
        bn = nn.BatchNorm2d(outChannels, eps: 1e-3, momentum: 0.03, device: device);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var convolved = conv.call(input);
        using var normalised = bn.call(convolved);
        return nn.functional.silu(normalised);
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input) => graph.Silu(graph.Conv(input, conv, bn), graph.PathOf(this) + ".act");
}

/// <summary>ultralytics' <c>Bottleneck</c> as C2f uses it: two 3x3 Conv blocks at the same width, with a
/// residual connection when <c>shortcut</c> is set (backbone) and none in the feature pyramid.</summary>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ConvBnSiLU cv1;
    readonly ConvBnSiLU cv2;
    readonly bool add;

    public Bottleneck(long channels, bool shortcut, Device? device = null) : base(nameof(Bottleneck))
    {
        cv1 = new ConvBnSiLU(channels, channels, 3, device: device);
        cv2 = new ConvBnSiLU(channels, channels, 3, device: device);
        add = shortcut;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var hidden = cv1.call(input);
        if (!add)
            return cv2.call(hidden);
        using var residual = cv2.call(hidden);
        return input + residual;
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var output = graph.Apply(cv2, graph.Apply(cv1, input));
        return add ? graph.Add(input, output, graph.PathOf(this) + ".add") : output;
    }
}

/// <summary>
/// ultralytics' <c>C2f</c> (CSP bottleneck with two convolutions): a 1x1 Conv to 2c channels (c = out/2)
/// split in halves; <c>n</c> bottlenecks are chained on the second half, and the two halves plus every
/// bottleneck's output (2 + n tensors of c channels) are concatenated and fused by a 1x1 Conv.
/// </summary>
public sealed class C2f : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ConvBnSiLU cv1;
    readonly ConvBnSiLU cv2;
    readonly ModuleList<Bottleneck> m;
    readonly long hidden;

    public C2f(long inChannels, long outChannels, int repeats, bool shortcut, Device? device = null) : base(nameof(C2f))
    {
        hidden = outChannels / 2;
        cv1 = new ConvBnSiLU(inChannels, 2 * hidden, 1, device: device);
        cv2 = new ConvBnSiLU((2 + repeats) * hidden, outChannels, 1, device: device);
        m = new ModuleList<Bottleneck>();
        for (int i = 0; i < repeats; i++)
            m.append(new Bottleneck(hidden, shortcut, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var parts = cv1.call(input).chunk(2, 1).ToList();
        foreach (var block in m)
            parts.Add(block.call(parts[^1]));
        return cv2.call(cat(parts, 1)).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var path = graph.PathOf(this);
        var parts = graph.Split(graph.Apply(cv1, input), 1, [hidden, hidden], path + ".split").ToList();
        foreach (var block in m)
            parts.Add(graph.Apply(block, parts[^1]));
        return graph.Apply(cv2, graph.Concat(parts, name: path + ".cat"));
    }
}

/// <summary>ultralytics' <c>SPPF</c>: spatial pyramid pooling, fast: a 1x1 Conv to half the channels, three
/// chained 5x5 stride-1 max-pools, the four maps concatenated and fused by a 1x1 Conv.</summary>
public sealed class Sppf : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    readonly ConvBnSiLU cv1;
    readonly ConvBnSiLU cv2;
    readonly MaxPool2d m;

    public Sppf(long inChannels, long outChannels, long kernel = 5, Device? device = null) : base("SPPF")
    {
        long hidden = inChannels / 2;
        cv1 = new ConvBnSiLU(inChannels, hidden, 1, device: device);
        cv2 = new ConvBnSiLU(hidden * 4, outChannels, 1, device: device);
        m = nn.MaxPool2d(kernel, stride: 1, padding: kernel / 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = cv1.call(input);
        var y1 = m.call(x);
        var y2 = m.call(y1);
        var y3 = m.call(y2);
        return cv2.call(cat([x, y1, y2, y3], 1)).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var x = graph.Apply(cv1, input);
        var y1 = graph.Apply(m, x);
        var y2 = graph.Apply(m, y1);
        var y3 = graph.Apply(m, y2);
        return graph.Apply(cv2, graph.Concat([x, y1, y2, y3], name: graph.PathOf(this) + ".cat"));
    }
}

/// <summary>ultralytics' <c>Concat</c> along channels: the parameter-free layers of the pyramid keep their
/// place in the layer list so that later layers keep ultralytics' indices.</summary>
public sealed class Concat : nn.Module<Tensor[], Tensor>
{
    public Concat() : base(nameof(Concat)) { }

    public override Tensor forward(Tensor[] inputs) => cat(inputs, 1);
}

/// <summary>
/// ultralytics' <c>DFL</c> (distribution focal loss integral): the expected value of each side's distance
/// distribution, softmax over <c>bins</c> then a fixed 1x1 convolution with weights 0..bins-1 (a frozen
/// parameter, as in ultralytics, so it is part of the state dict and the parameter count).
/// Input [B, 4 * bins, A], output [B, 4, A].
/// </summary>
public sealed class Dfl : nn.Module<Tensor, Tensor>
{
    readonly Conv2d conv;

    public Dfl(int bins, Device? device = null) : base("DFL")
    {
        Bins = bins;
        conv = nn.Conv2d(bins, 1, 1, bias: false, device: device);
        using (no_grad())
        {
            if (conv.weight!.device_type != DeviceType.META)
                conv.weight.copy_(arange(bins, ScalarType.Float32).view(1, bins, 1, 1));
        }
        conv.weight.requires_grad = false;
        RegisterComponents();
    }

    public int Bins { get; }

    public override Tensor forward(Tensor distribution)
    {
        using var scope = NewDisposeScope();
        long b = distribution.shape[0], a = distribution.shape[2];
        var probabilities = distribution.view(b, 4, Bins, a).transpose(2, 1).softmax(1);
        return conv.call(probabilities).view(b, 4, a).MoveToOuterDisposeScope();
    }
}
