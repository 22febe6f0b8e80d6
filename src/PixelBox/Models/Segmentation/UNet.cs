using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// U-Net (Ronneberger, Fischer &amp; Brox, MICCAI 2015): a contracting path of double 3x3 convolutions and
/// 2x2 max-pools, an expanding path of 2x2 up-convolutions (transposed convolutions, kernel 2, stride 2),
/// skip connections by centre crop and concatenation, and a 1x1 convolution to class scores.
/// With valid (unpadded) convolutions the output is smaller than the input (572 -> 388 for the paper's
/// network); with same padding it equals the input (sides divisible by 2^(depth-1)).
/// </summary>
/// <remarks>
/// Parameter names follow the reference ref_models.UNet: <c>down.{level}.{i}</c> (double conv as a
/// sequence conv[, bn], relu, conv[, bn], relu), <c>upconv.{j}</c>, <c>up.{j}.{i}</c> and <c>head</c>.
/// </remarks>
public sealed class UNet : SegmentationModel, IOnnxExportable
{
    readonly ModuleList<Sequential> down;
    readonly MaxPool2d pool;
    readonly ModuleList<ConvTranspose2d> upconv;
    readonly ModuleList<Sequential> up;
    readonly Conv2d head;

    /// <param name="widths">Channels per level, top to bottom (the paper: 64, 128, 256, 512, 1024).</param>
    /// <param name="samePadding">Pad the 3x3 convolutions by 1 (output size = input size) instead of valid ones.</param>
    /// <param name="batchNorm">BatchNorm after each 3x3 convolution (which then has no bias).</param>
    public UNet(int inChannels, int numClasses, IReadOnlyList<int> widths, bool samePadding, bool batchNorm, Device? device = null)
        : base(nameof(UNet), numClasses, inChannels)
    {
        if (widths.Count < 2)
            throw new ArgumentException("a U-Net needs at least two levels", nameof(widths));
        if (widths.Any(w => w < 1))
            throw new ArgumentException("every level needs at least one channel", nameof(widths));
        Widths = [.. widths];
        SamePadding = samePadding;
        BatchNorm = batchNorm;

        down = new ModuleList<Sequential>();
        long channels = inChannels;
        foreach (var width in widths)
        {
            down.append(DoubleConv(channels, width, samePadding, batchNorm, device));
            channels = width;
        }
        pool = nn.MaxPool2d(kernel_size: 2, stride: 2);
        upconv = new ModuleList<ConvTranspose2d>();
        up = new ModuleList<Sequential>();
        for (var level = widths.Count - 2; level >= 0; level--)
        {
            var width = widths[level];
            upconv.append(nn.ConvTranspose2d(channels, width, kernel_size: 2, stride: 2, device: device));
            up.append(DoubleConv(2 * width, width, samePadding, batchNorm, device));
            channels = width;
        }
        head = nn.Conv2d(channels, numClasses, kernel_size: 1, device: device);
        RegisterComponents();
    }

    /// <summary>The paper's network: valid convolutions, widths 64..1024, 572x572 -> 388x388;
    /// 31,030,658 parameters for 1 input channel and 2 classes.</summary>
    public static UNet Paper(int inChannels = 1, int numClasses = 2, Device? device = null) =>
        Valid(numClasses, inChannels, baseWidth: 64, depth: 5, device);

    /// <summary>Valid (unpadded) U-Net with widths baseWidth * 2^level for <paramref name="depth"/> levels.</summary>
    public static UNet Valid(int numClasses, int inChannels, int baseWidth = 64, int depth = 5, Device? device = null) =>
        new(inChannels, numClasses, Doubling(baseWidth, depth), samePadding: false, batchNorm: false, device);

    /// <summary>Same-padded U-Net for practical use: output size = input size (sides divisible by
    /// 2^(depth-1)); widths baseWidth * 2^level.</summary>
    public static UNet Same(int numClasses, int inChannels = 3, int baseWidth = 32, int depth = 5, bool batchNorm = true, Device? device = null) =>
        new(inChannels, numClasses, Doubling(baseWidth, depth), samePadding: true, batchNorm, device);

    /// <summary>The benchmark network (ref_models.unet_same32): same padding, widths 32..512, no BatchNorm;
    /// 7,760,229 parameters for 3 input channels and 5 classes.</summary>
    public static UNet Same32(int numClasses = 5, int inChannels = 3, Device? device = null) =>
        Same(numClasses, inChannels, baseWidth: 32, depth: 5, batchNorm: false, device);

    public IReadOnlyList<int> Widths { get; }

    public bool SamePadding { get; }

    public bool BatchNorm { get; }

    public override int OutputSize(int inputSize) =>
        TryOutputSize(inputSize, out var output, out var problem)
            ? output
            : throw new ArgumentException(
                $"U-Net ({(SamePadding ? "same" : "valid")} convolutions, depth {Widths.Count}) cannot take an input side of {inputSize}: " +
                $"{problem}; the next valid side is {ValidInputSize(inputSize)}", nameof(inputSize));

    /// <summary>The smallest input side at least <paramref name="minSize"/> the network can take.</summary>
    public int ValidInputSize(int minSize)
    {
        for (var size = Math.Max(minSize, 1); ; size++)
            if (TryOutputSize(size, out _, out _))
                return size;
    }

    /// <summary>Follows one side through the network: every 2x2 pool must see an even side (so skips
    /// align exactly, as the paper requires for seamless tiling) and no side may vanish.</summary>
    bool TryOutputSize(int inputSize, out int outputSize, out string problem)
    {
        var shrink = SamePadding ? 0 : 4; // two 3x3 convolutions
        var size = inputSize;
        outputSize = 0;
        for (var level = 0; level < Widths.Count; level++)
        {
            size -= shrink;
            if (size < 1)
            {
                problem = $"the side vanishes at level {level}";
                return false;
            }
            if (level == Widths.Count - 1)
                break;
            if (size % 2 != 0)
            {
                problem = $"the max-pool after level {level} gets an odd side ({size})";
                return false;
            }
            size /= 2;
        }
        for (var level = Widths.Count - 2; level >= 0; level--)
        {
            size = 2 * size - shrink;
            if (size < 1)
            {
                problem = $"the side vanishes on the way up at level {level}";
                return false;
            }
        }
        outputSize = size;
        problem = "";
        return true;
    }

    public override Tensor forward(Tensor input)
    {
        OutputSize((int)input.shape[^2]);
        OutputSize((int)input.shape[^1]);
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>();
        var h = input;
        for (var level = 0; level < down.Count; level++)
        {
            h = down[level].call(h);
            if (level < down.Count - 1)
            {
                skips.Add(h);
                h = pool.call(h);
            }
        }
        for (var j = 0; j < up.Count; j++)
        {
            h = upconv[j].call(h);
            var skip = CenterCrop(skips[^(j + 1)], h.shape[^2], h.shape[^1]);
            h = up[j].call(cat([skip, h], dim: 1));
        }
        return head.call(h).MoveToOuterDisposeScope();
    }

    /// <summary>The forward as an ONNX graph (BatchNorm folded into the convolutions).</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var skips = new List<OnnxValue>();
        var h = input;
        for (var level = 0; level < down.Count; level++)
        {
            h = graph.Apply(down[level], h);
            if (level < down.Count - 1)
            {
                skips.Add(h);
                h = graph.Apply(pool, h);
            }
        }
        for (var j = 0; j < up.Count; j++)
        {
            h = graph.Apply(upconv[j], h);
            // Same padding keeps skip and upsampled maps the same size, so the forward's crop is a no-op.
            var skip = SamePadding ? skips[^(j + 1)] : graph.CenterCropLike(skips[^(j + 1)], h, $"up.{j}.crop");
            h = graph.Apply(up[j], graph.Concat([skip, h], name: $"up.{j}.cat"));
        }
        return graph.Apply(head, h);
    }

    static Tensor CenterCrop(Tensor t, long height, long width)
    {
        var (dy, dx) = ((t.shape[^2] - height) / 2, (t.shape[^1] - width) / 2);
        return dy == 0 && dx == 0 ? t : t.narrow(-2, dy, height).narrow(-1, dx, width);
    }

    static Sequential DoubleConv(long inChannels, long outChannels, bool samePadding, bool batchNorm, Device? device)
    {
        var layers = nn.Sequential();
        foreach (var c in new[] { inChannels, outChannels })
        {
            layers.append(nn.Conv2d(c, outChannels, kernel_size: 3, padding: samePadding ? 1 : 0, bias: !batchNorm, device: device));
            if (batchNorm)
                layers.append(nn.BatchNorm2d(outChannels, device: device));
            layers.append(nn.ReLU(inplace: true));
        }
        return layers;
    }

    static int[] Doubling(int baseWidth, int depth)
    {
        if (depth < 2)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, "a U-Net needs at least two levels");
        return [.. Enumerable.Range(0, depth).Select(level => baseWidth << level)];
    }
}
