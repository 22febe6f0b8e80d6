using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Onnx;

// The ops a forward is written with: each adds ONNX nodes (opset 13..17 semantics) and returns the new value
// with its shape as far as it is known. Spatial ops take NCHW values.
public sealed partial class OnnxGraph
{
    const long Unknown = OnnxValue.Unknown;

    /// <summary>
    /// A 2-D convolution, with a following eval-mode BatchNorm folded into its weights and bias when
    /// <paramref name="batchNorm"/> is given (w' = w s, b' = (b - mean) s + beta, s = gamma / sqrt(var + eps),
    /// computed in float64 and rounded once to float32).
    /// </summary>
    public OnnxValue Conv(OnnxValue x, Conv2d conv, BatchNorm2d? batchNorm = null)
    {
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"ONNX export of {PathOf(conv)}: padding mode {conv.padding_mode} (only zero padding)");
        var path = PathOf(conv);
        var (kernel, stride, dilation) = (conv.kernel_size, conv.stride, conv.dilation);
        var pads = ConvPads(conv);
        OnnxValue weight, bias;
        if (batchNorm is null)
        {
            weight = Initializer(path + ".weight", conv.weight);
            bias = conv.bias is null ? Initializer(path + ".bias", new float[conv.out_channels], [conv.out_channels]) : Initializer(path + ".bias", conv.bias);
        }
        else
        {
            using var scope = NewDisposeScope();
            var (scale, shift) = FoldedBatchNorm(batchNorm);
            var w = conv.weight.detach().to(ScalarType.Float64) * scale.view(-1, 1, 1, 1);
            var b = conv.bias is null ? shift : conv.bias.detach().to(ScalarType.Float64) * scale + shift;
            weight = Initializer(path + ".weight", w);
            bias = Initializer(path + ".bias", b);
        }
        var shape = new long[] { x.Dim(0), conv.out_channels, ConvSide(x.Dim(2), kernel[0], stride[0], pads[0], pads[2], dilation[0]), ConvSide(x.Dim(3), kernel[1], stride[1], pads[1], pads[3], dilation[1]) };
        return Node("Conv", path, shape, [x, weight, bias],
            ("kernel_shape", kernel), ("strides", stride), ("pads", pads), ("dilations", dilation), ("group", conv.groups));
    }

    /// <summary>A 2-D transposed convolution (weights [in, out / groups, kH, kW], as PyTorch's).</summary>
    public OnnxValue ConvTranspose(OnnxValue x, ConvTranspose2d conv)
    {
        var path = PathOf(conv);
        var (kernel, stride, dilation, extra) = (conv.kernel_size, conv.stride, conv.dilation, conv.output_padding);
        var padding = conv.padding ?? [0, 0];
        var weight = Initializer(path + ".weight", conv.weight);
        var bias = conv.bias is null ? null : Initializer(path + ".bias", conv.bias);
        long Side(long size, int i) => size == Unknown ? Unknown : (size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + extra[i] + 1;
        var shape = new long[] { x.Dim(0), conv.out_channels, Side(x.Dim(2), 0), Side(x.Dim(3), 1) };
        return Node("ConvTranspose", path, shape, bias is null ? [x, weight] : [x, weight, bias],
            ("kernel_shape", kernel), ("strides", stride), ("pads", new[] { padding[0], padding[1], padding[0], padding[1] }),
            ("dilations", dilation), ("output_padding", extra), ("group", conv.groups));
    }

    /// <summary>An eval-mode BatchNorm on its own (after a convolution, fold it with <see cref="Conv"/> instead).</summary>
    public OnnxValue BatchNorm(OnnxValue x, BatchNorm2d batchNorm)
    {
        var path = PathOf(batchNorm);
        using var scope = NewDisposeScope();
        var (scale, shift) = FoldedBatchNorm(batchNorm);
        // As a per-channel affine map: Mul and Add broadcast over [C, 1, 1].
        var channels = scale.shape[0];
        var mul = Initializer(path + ".scale", scale.view(channels, 1, 1));
        var add = Initializer(path + ".shift", shift.view(channels, 1, 1));
        return Add(Mul(x, mul, path + ".mul"), add, path);
    }

    public OnnxValue Relu(OnnxValue x, string? name = null) => Node("Relu", name, x.Shape, [x]);

    public OnnxValue Sigmoid(OnnxValue x, string? name = null) => Node("Sigmoid", name, x.Shape, [x]);

    /// <summary>SiLU (swish): x * sigmoid(x).</summary>
    public OnnxValue Silu(OnnxValue x, string? name = null) => Mul(x, Sigmoid(x, name is null ? null : name + ".sigmoid"), name);

    /// <summary>PyTorch's hardsigmoid: relu6(x + 3) / 6 = HardSigmoid(alpha 1/6, beta 1/2).</summary>
    public OnnxValue HardSigmoid(OnnxValue x, string? name = null) =>
        Node("HardSigmoid", name, x.Shape, [x], ("alpha", 1.0f / 6), ("beta", 0.5f));

    /// <summary>PyTorch's hardswish: x * hardsigmoid(x) (written with HardSigmoid so that opset 13 has it too).</summary>
    public OnnxValue HardSwish(OnnxValue x, string? name = null) => Mul(x, HardSigmoid(x, name is null ? null : name + ".gate"), name);

    /// <summary>Clamps to [min, max] (ReLU6 is [0, 6]).</summary>
    public OnnxValue Clip(OnnxValue x, float min, float max, string? name = null) =>
        Node("Clip", name, x.Shape, [x, ScalarFloat(min), ScalarFloat(max)]);

    public OnnxValue LeakyRelu(OnnxValue x, double slope, string? name = null) => Node("LeakyRelu", name, x.Shape, [x], ("alpha", slope));

    public OnnxValue Add(OnnxValue a, OnnxValue b, string? name = null) => Node("Add", name, Broadcast(a, b), [a, b]);

    public OnnxValue Mul(OnnxValue a, OnnxValue b, string? name = null) => Node("Mul", name, Broadcast(a, b), [a, b]);

    /// <summary>Concatenates along <paramref name="axis"/> (channels: 1).</summary>
    public OnnxValue Concat(IReadOnlyList<OnnxValue> values, int axis = 1, string? name = null)
    {
        var shape = (long[])values[0].Shape.Clone();
        shape[axis] = values.Any(v => v.Dim(axis) == Unknown) ? Unknown : values.Sum(v => v.Dim(axis));
        for (int d = 0; d < shape.Length; d++)
            if (d != axis && shape[d] == Unknown)
                shape[d] = values.Select(v => v.Dim(d)).FirstOrDefault(s => s != Unknown, Unknown);
        return Node("Concat", name, shape, [.. values], ("axis", axis));
    }

    /// <summary>Splits along <paramref name="axis"/> into parts of the given sizes (PyTorch's split / chunk).</summary>
    public OnnxValue[] Split(OnnxValue x, int axis, long[] sizes, string? name = null)
    {
        var shapes = sizes.Select(size =>
        {
            var shape = (long[])x.Shape.Clone();
            shape[axis] = size;
            return shape;
        }).ToArray();
        return Node("Split", name, shapes, [x, Int64s(sizes)], ("axis", axis));
    }

    /// <summary>Max pooling as PyTorch's max_pool2d (ceil mode keeps PyTorch's rule that no window starts in the right padding).</summary>
    public OnnxValue MaxPool(OnnxValue x, long[] kernel, long[] stride, long[] padding, long[] dilation, bool ceilMode, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), PoolSide(x.Dim(2), kernel[0], stride[0], padding[0], dilation[0], ceilMode), PoolSide(x.Dim(3), kernel[1], stride[1], padding[1], dilation[1], ceilMode) };
        return Node("MaxPool", name, shape, [x],
            ("kernel_shape", kernel), ("strides", stride), ("pads", new[] { padding[0], padding[1], padding[0], padding[1] }),
            ("dilations", dilation), ("ceil_mode", ceilMode ? 1 : 0));
    }

    /// <summary>Average pooling as PyTorch's avg_pool2d (no divisor override).</summary>
    public OnnxValue AveragePool(OnnxValue x, long[] kernel, long[] stride, long[] padding, bool ceilMode, bool countIncludePad, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), PoolSide(x.Dim(2), kernel[0], stride[0], padding[0], 1, ceilMode), PoolSide(x.Dim(3), kernel[1], stride[1], padding[1], 1, ceilMode) };
        return Node("AveragePool", name, shape, [x],
            ("kernel_shape", kernel), ("strides", stride), ("pads", new[] { padding[0], padding[1], padding[0], padding[1] }),
            ("ceil_mode", ceilMode ? 1 : 0), ("count_include_pad", countIncludePad ? 1 : 0));
    }

    public OnnxValue GlobalAveragePool(OnnxValue x, string? name = null) => Node("GlobalAveragePool", name, [x.Dim(0), x.Dim(1), 1, 1], [x]);

    /// <summary>
    /// PyTorch's adaptive_avg_pool2d to <paramref name="height"/> x <paramref name="width"/>: a global average
    /// for 1 x 1; equal windows of a known input size an AveragePool; otherwise (uneven windows, or sides known
    /// only at run time) a product with averaging matrices whose windows are PyTorch's floor/ceil bounds.
    /// </summary>
    public OnnxValue AdaptiveAveragePool(OnnxValue x, long height, long width, string? name = null)
    {
        if (height == 1 && width == 1)
            return GlobalAveragePool(x, name);
        long inH = x.Dim(2), inW = x.Dim(3);
        if (x.IsKnown(2) && x.IsKnown(3) && inH % height == 0 && inW % width == 0)
            return AveragePool(x, [inH / height, inW / width], [inH / height, inW / width], [0, 0], false, true, name);
        // y = A_h x A_w^T per channel: MatMul over the last axis with A_w^T [inW, width], then A_h [height, inH] from the left.
        var path = FreeName(name ?? "adaptive_avg_pool");
        var rows = x.IsKnown(2) ? Initializer(path + ".rows", AdaptiveMatrix(inH, height), [height, inH]) : AdaptiveMatrix(x, 2, height, path + ".rows");
        var columnsT = x.IsKnown(3)
            ? Initializer(path + ".cols", Transpose(AdaptiveMatrix(inW, width), width, inW), [inW, width])
            : Node("Transpose", path + ".cols", [Unknown, width], [AdaptiveMatrix(x, 3, width, path + ".cols_t")], ("perm", new long[] { 1, 0 }));
        var pooledW = Node("MatMul", path + ".w", [x.Dim(0), x.Dim(1), inH, width], [x, columnsT]);
        return Node("MatMul", path, [x.Dim(0), x.Dim(1), height, width], [rows, pooledW]);
    }

    /// <summary>The averaging matrix [outSize, in] of adaptive pooling over axis <paramref name="axis"/> of
    /// <paramref name="x"/>, built at run time from its size: row i is 1 / (end - start) on start..end-1 with
    /// start = floor(i in / out), end = ceil((i + 1) in / out), as PyTorch's kernel.</summary>
    OnnxValue AdaptiveMatrix(OnnxValue x, int axis, long outSize, string name)
    {
        var size = Node("Slice", name + ".in", [1], [Node("Shape", name + ".shape", [x.Rank], [x]), Int64s(axis), Int64s(axis + 1), Int64s(0)]);
        var positions = Node("Range", name + ".positions", [Unknown], [Int64Scalar(0), Node("Reshape", name + ".in_scalar", Array.Empty<long>(), [size, Int64s()]), Int64Scalar(1)]);
        var index = Int64Column(name + ".i", Enumerable.Range(0, (int)outSize).Select(i => (long)i).ToArray());
        var next = Int64Column(name + ".i1", Enumerable.Range(1, (int)outSize).Select(i => (long)i).ToArray());
        var start = Node("Div", name + ".start", [outSize, 1], [Node("Mul", name + ".start_num", [outSize, 1], [index, size]), Int64s(outSize)]);
        var end = Node("Div", name + ".end", [outSize, 1],
            [Node("Add", name + ".end_num", [outSize, 1], [Node("Mul", name + ".end_mul", [outSize, 1], [next, size]), Int64s(outSize - 1)]), Int64s(outSize)]);
        var inside = Node("And", name + ".inside", [outSize, Unknown],
            [Node("GreaterOrEqual", name + ".after_start", [outSize, Unknown], [positions, start]), Node("Less", name + ".before_end", [outSize, Unknown], [positions, end])]);
        const int floatType = (int)PixelBox.Onnx.Proto.TensorProto.Types.DataType.Float;
        var count = Node("Cast", name + ".count", [outSize, 1], [Node("Sub", name + ".width", [outSize, 1], [end, start])], ("to", floatType));
        return Node("Div", name, [outSize, Unknown], [Node("Cast", name + ".mask", [outSize, Unknown], [inside], ("to", floatType)), count]);
    }

    /// <summary>PyTorch's max_pool2d_with_indices for 2x2-style pools without padding: the pooled map and the
    /// positions of the maxima (ONNX's convention, flat over the whole tensor, which only <see cref="MaxUnpool"/> reads).</summary>
    public (OnnxValue Pooled, OnnxValue Indices) MaxPoolWithIndices(OnnxValue x, long[] kernel, long[] stride, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), PoolSide(x.Dim(2), kernel[0], stride[0], 0, 1, false), PoolSide(x.Dim(3), kernel[1], stride[1], 0, 1, false) };
        var outputs = Node("MaxPool", name, [shape, shape], [x], ("kernel_shape", kernel), ("strides", stride), ("pads", new long[] { 0, 0, 0, 0 }));
        return (outputs[0], outputs[1]);
    }

    /// <summary>PyTorch's max_unpool2d to the shape of <paramref name="like"/> (the map that was pooled, so odd sides come back exactly).</summary>
    public OnnxValue MaxUnpool(OnnxValue x, OnnxValue indices, long[] kernel, long[] stride, OnnxValue like, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), like.Dim(2), like.Dim(3) };
        var outputShape = Node("Shape", (name ?? "unpool") + ".shape", [4], [like]);
        return Node("MaxUnpool", name, shape, [x, indices, outputShape], ("kernel_shape", kernel), ("strides", stride), ("pads", new long[] { 0, 0, 0, 0 }));
    }

    /// <summary>PyTorch's F.normalize(x, dim=1): x / max(||x||_2 over channels, eps).</summary>
    public OnnxValue L2Normalize(OnnxValue x, float eps = 1e-12f, string? name = null)
    {
        var path = FreeName(name ?? "normalize");
        var norm = Node("ReduceL2", path + ".norm", [x.Dim(0), 1, x.Dim(2), x.Dim(3)], [x], ("axes", new long[] { 1 }), ("keepdims", 1));
        return Node("Div", path, x.Shape, [x, Node("Max", path + ".clamped", norm.Shape, [norm, ScalarFloat(eps)])]);
    }

    /// <summary>
    /// PyTorch's interpolate(size=(height, width), mode bilinear, align_corners false, antialias as given) of a map of
    /// known size, as products with interpolation matrices (ONNX's Resize has no antialiasing before opset 18): the
    /// weights of PyTorch's kernels, plain bilinear (clamped half-pixel sampling) or antialiased (a triangle filter
    /// widened by the downscaling factor, normalised per output).
    /// </summary>
    public OnnxValue ResizeBilinearTo(OnnxValue x, long height, long width, bool antialias, string? name = null)
    {
        if (!x.IsKnown(2) || !x.IsKnown(3))
            throw new NotSupportedException("resizing to a fixed size needs a static input size (export without --dynamic-size)");
        long inH = x.Dim(2), inW = x.Dim(3);
        if (inH == height && inW == width)
            return x;
        var path = FreeName(name ?? "resize");
        var rows = Initializer(path + ".rows", InterpolationMatrix(inH, height, antialias), [height, inH]);
        var columnsT = Initializer(path + ".cols", Transpose(InterpolationMatrix(inW, width, antialias), width, inW), [inW, width]);
        var resizedW = Node("MatMul", path + ".w", [x.Dim(0), x.Dim(1), inH, width], [x, columnsT]);
        return Node("MatMul", path, [x.Dim(0), x.Dim(1), height, width], [rows, resizedW]);
    }

    /// <summary>[N, C, H, W] to [N, C H W] (PyTorch's flatten(1)).</summary>
    public OnnxValue Flatten(OnnxValue x, string? name = null)
    {
        long features = x.Shape.Skip(1).Any(d => d == Unknown) ? Unknown : x.Shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        return Node("Flatten", name, [x.Dim(0), features], [x], ("axis", 1));
    }

    /// <summary>A fully connected layer y = x W^T + b (PyTorch's Linear) on [N, in].</summary>
    public OnnxValue Linear(OnnxValue x, Linear linear)
    {
        var path = PathOf(linear);
        var weight = Initializer(path + ".weight", linear.weight!);
        var inputs = linear.bias is null ? new OnnxValue?[] { x, weight } : [x, weight, Initializer(path + ".bias", linear.bias)];
        return Node("Gemm", path, [x.Dim(0), linear.weight!.shape[0]], inputs, ("transB", 1));
    }

    /// <summary>Reshape to <paramref name="shape"/> (0: keep that dimension, -1: inferred), as ONNX's Reshape.</summary>
    public OnnxValue Reshape(OnnxValue x, long[] shape, string? name = null)
    {
        var known = shape.Select((d, i) => d == 0 ? x.Dim(i) : d == -1 ? Unknown : d).ToArray();
        return Node("Reshape", name, known, [x, Int64s(shape)]);
    }

    public OnnxValue Transpose(OnnxValue x, long[] perm, string? name = null) =>
        Node("Transpose", name, [.. perm.Select(p => x.Dim((int)p))], [x], ("perm", perm));

    /// <summary>A window of <paramref name="x"/> starting at (<paramref name="top"/>, <paramref name="left"/>) with
    /// the spatial size of <paramref name="like"/> (known, or read from it at run time).</summary>
    public OnnxValue CropLike(OnnxValue x, long top, long left, OnnxValue like, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), like.Dim(2), like.Dim(3) };
        OnnxValue starts = Int64s(top, left), ends;
        if (like.IsKnown(2) && like.IsKnown(3))
            ends = Int64s(top + like.Dim(2), left + like.Dim(3));
        else
            ends = Node("Add", (name ?? "crop") + ".ends", [2], [SpatialSize(like), starts]);
        return Node("Slice", name, shape, [x, starts, ends, Int64s(2, 3)]);
    }

    /// <summary>The centre window of <paramref name="x"/> with the spatial size of <paramref name="like"/>
    /// (offsets (size(x) - size(like)) / 2, floored, as U-Net's skip crop).</summary>
    public OnnxValue CenterCropLike(OnnxValue x, OnnxValue like, string? name = null)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), like.Dim(2), like.Dim(3) };
        if (x.IsKnown(2) && x.IsKnown(3) && like.IsKnown(2) && like.IsKnown(3))
        {
            long dy = (x.Dim(2) - like.Dim(2)) / 2, dx = (x.Dim(3) - like.Dim(3)) / 2;
            if (dy == 0 && dx == 0 && x.Dim(2) == like.Dim(2) && x.Dim(3) == like.Dim(3))
                return x;
            return Node("Slice", name, shape, [x, Int64s(dy, dx), Int64s(dy + like.Dim(2), dx + like.Dim(3)), Int64s(2, 3)]);
        }
        var path = FreeName(name ?? "center_crop");
        var size = SpatialSize(like);
        var starts = Node("Div", path + ".starts", [2], [Node("Sub", path + ".margin", [2], [SpatialSize(x), size]), Int64s(2, 2)]);
        var ends = Node("Add", path + ".ends", [2], [starts, size]);
        return Node("Slice", path, shape, [x, starts, ends, Int64s(2, 3)]);
    }

    /// <summary>Resizes to the spatial size of <paramref name="like"/>: PyTorch's interpolate(size=...) with
    /// mode bilinear (align_corners as given) or nearest.</summary>
    public OnnxValue ResizeLike(OnnxValue x, OnnxValue like, bool bilinear, string? name = null, bool alignCorners = false)
    {
        var shape = new long[] { x.Dim(0), x.Dim(1), like.Dim(2), like.Dim(3) };
        OnnxValue sizes;
        if (x.IsKnown(0) && x.IsKnown(1) && like.IsKnown(2) && like.IsKnown(3))
            sizes = Int64s(shape);
        else
        {
            var path = FreeName((name ?? "resize") + ".sizes");
            var batchAndChannels = Node("Slice", path + ".nc", [2], [Node("Shape", path + ".shape", [4], [x]), Int64s(0), Int64s(2), Int64s(0)]);
            sizes = Node("Concat", path, [4], [batchAndChannels, SpatialSize(like)], ("axis", 0));
        }
        var attributes = alignCorners
            ? bilinear ? [("mode", "linear"), ("coordinate_transformation_mode", "align_corners")] : throw new ArgumentException("align_corners applies to bilinear resizing")
            : ResizeAttributes(bilinear);
        return Node("Resize", name, shape, [x, null, null, sizes], attributes);
    }

    /// <summary>Resizes by integer factors: PyTorch's interpolate(scale_factor=...) (nearest: floor(out / scale)).</summary>
    public OnnxValue ResizeScale(OnnxValue x, double scaleH, double scaleW, bool bilinear, string? name = null)
    {
        long Scaled(long size, double scale) => size == Unknown ? Unknown : (long)Math.Floor(size * scale);
        var shape = new long[] { x.Dim(0), x.Dim(1), Scaled(x.Dim(2), scaleH), Scaled(x.Dim(3), scaleW) };
        var scales = Initializer((name ?? "resize") + ".scales", [1f, 1f, (float)scaleH, (float)scaleW], [4]);
        return Node("Resize", name, shape, [x, null, scales], ResizeAttributes(bilinear, fromScales: true));
    }

    /// <summary>The spatial size (H, W) of <paramref name="x"/> as an int64 [2] value read at run time.</summary>
    public OnnxValue SpatialSize(OnnxValue x)
    {
        var shape = Node("Shape", x.Name + ".shape", [4], [x]);
        return Node("Slice", x.Name + ".hw", [2], [shape, Int64s(2), Int64s(4), Int64s(0)]);
    }

    OnnxValue ScalarFloat(float value) => Initializer("const_f32", [value], []);

    OnnxValue Int64Scalar(long value) => Int64Tensor("const_i64_scalar", [value], []);

    OnnxValue Int64Column(string name, long[] values) => Int64Tensor(name, values, [values.Length, 1]);

    static (string, object)[] ResizeAttributes(bool bilinear, bool fromScales = false) => bilinear
        // PyTorch's bilinear with align_corners=False samples at (out + 0.5) / scale - 0.5, clamped at 0.
        ? [("mode", "linear"), ("coordinate_transformation_mode", fromScales ? "half_pixel" : "pytorch_half_pixel")]
        // PyTorch's nearest takes floor(out * in / out_size).
        : [("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor")];

    /// <summary>Eval-mode BatchNorm as y = x scale + shift, per channel, in float64.</summary>
    static (Tensor Scale, Tensor Shift) FoldedBatchNorm(BatchNorm2d bn)
    {
        if (bn.running_mean is null || bn.running_var is null)
            throw new NotSupportedException("ONNX export of a BatchNorm without running statistics");
        var mean = bn.running_mean.detach().to(ScalarType.Float64);
        var invStd = (bn.running_var.detach().to(ScalarType.Float64) + bn.eps).rsqrt();
        var scale = bn.weight is null ? invStd : bn.weight.detach().to(ScalarType.Float64) * invStd;
        var shift = -mean * scale;
        if (bn.bias is not null)
            shift = shift + bn.bias.detach().to(ScalarType.Float64);
        return (scale, shift);
    }

    /// <summary>ONNX pads [top, left, bottom, right]; PyTorch's "same" puts an odd extra pixel after.</summary>
    static long[] ConvPads(Conv2d conv)
    {
        if (conv.padding is { } padding)
            return [padding[0], padding[1], padding[0], padding[1]];
        if (conv.padding_type == Padding.Valid)
            return [0, 0, 0, 0];
        long totalH = conv.dilation[0] * (conv.kernel_size[0] - 1), totalW = conv.dilation[1] * (conv.kernel_size[1] - 1);
        return [totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2];
    }

    static long ConvSide(long size, long kernel, long stride, long padBegin, long padEnd, long dilation) =>
        size == Unknown ? Unknown : (size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride + 1;

    static long PoolSide(long size, long kernel, long stride, long padding, long dilation, bool ceilMode)
    {
        if (size == Unknown)
            return Unknown;
        long span = size + 2 * padding - dilation * (kernel - 1) - 1;
        long output = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (ceilMode && (output - 1) * stride >= size + padding)
            output--;
        return output;
    }

    static long[] Broadcast(OnnxValue a, OnnxValue b)
    {
        var rank = Math.Max(a.Rank, b.Rank);
        var shape = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i - (rank - a.Rank) >= 0 ? a.Shape[i - (rank - a.Rank)] : 1;
            long db = i - (rank - b.Rank) >= 0 ? b.Shape[i - (rank - b.Rank)] : 1;
            shape[i] = da == 1 ? db : db == 1 ? da : da != Unknown ? da : db;
        }
        return shape;
    }

    /// <summary>PyTorch's adaptive average pooling as a matrix [outSize, inSize]: output i averages inputs
    /// floor(i in / out) .. ceil((i + 1) in / out) - 1.</summary>
    static float[] AdaptiveMatrix(long inSize, long outSize)
    {
        var matrix = new float[outSize * inSize];
        for (long i = 0; i < outSize; i++)
        {
            long start = i * inSize / outSize, end = ((i + 1) * inSize + outSize - 1) / outSize;
            for (long j = start; j < end; j++)
                matrix[i * inSize + j] = 1f / (end - start);
        }
        return matrix;
    }

    /// <summary>The [outSize, inSize] matrix of PyTorch's bilinear interpolation along one axis (align_corners false):
    /// with <paramref name="antialias"/> its _compute_weights_aa (support = scale when downscaling), else the
    /// two-tap weights of upsample_bilinear2d (source (i + 0.5) scale - 0.5, clamped at 0).</summary>
    static float[] InterpolationMatrix(long inSize, long outSize, bool antialias)
    {
        var matrix = new float[outSize * inSize];
        double scale = (double)inSize / outSize;
        for (long i = 0; i < outSize; i++)
        {
            if (antialias)
            {
                double support = scale >= 1 ? scale : 1, invScale = scale >= 1 ? 1 / scale : 1, center = scale * (i + 0.5);
                long start = Math.Max((long)(center - support + 0.5), 0), end = Math.Min((long)(center + support + 0.5), inSize);
                var weights = new double[end - start];
                for (long j = start; j < end; j++)
                    weights[j - start] = Math.Max(0, 1 - Math.Abs((j - center + 0.5) * invScale));
                double total = weights.Sum();
                for (long j = start; j < end; j++)
                    matrix[i * inSize + j] = (float)(total > 0 ? weights[j - start] / total : 0);
            }
            else
            {
                double source = Math.Max((i + 0.5) * scale - 0.5, 0);
                long low = Math.Min((long)source, inSize - 1), high = Math.Min(low + 1, inSize - 1);
                double lambda = source - low;
                matrix[i * inSize + low] += (float)(1 - lambda);
                matrix[i * inSize + high] += (float)lambda;
            }
        }
        return matrix;
    }

    static float[] Transpose(float[] matrix, long rows, long cols)
    {
        var result = new float[matrix.Length];
        for (long r = 0; r < rows; r++)
            for (long c = 0; c < cols; c++)
                result[c * rows + r] = matrix[r * cols + c];
        return result;
    }
}
