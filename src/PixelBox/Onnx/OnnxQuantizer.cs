using System.Runtime.InteropServices;
using Google.Protobuf;
using PixelBox.Onnx.Proto;
using DataType = PixelBox.Onnx.Proto.TensorProto.Types.DataType;

namespace PixelBox.Onnx;

/// <summary>
/// What to quantise in a float model: the Conv and Gemm nodes whose weights are initializers, and the float
/// activations to calibrate — each such node's data input and its output (after a sole following Relu, which
/// ONNX Runtime then drops as redundant with the quantisation to uint8 at zero point 0). Graph inputs are
/// quantised, graph outputs never (they stay float). <see cref="BoundaryActivations"/> are the graph inputs and the
/// activations read by a node that writes a graph output (a segmentation model's logits, a detector's raw outputs):
/// calibration keeps their full range, as clipping them would clip the image or the model's answer.
/// </summary>
public sealed record QuantizationPlan(IReadOnlyList<string> Nodes, IReadOnlyList<string> Activations, IReadOnlySet<string> BoundaryActivations);

/// <summary>
/// Writes a static int8 QDQ model from a float ONNX model: weights int8 symmetric per output channel
/// (DequantizeLinear of an int8 initializer, scale [C], zero point 0), biases int32 at scale
/// input_scale * weight_scale[c] through DequantizeLinear, activations uint8 asymmetric per tensor as a
/// QuantizeLinear -> DequantizeLinear pair with every consumer reading the DequantizeLinear. This is the form
/// ONNX Runtime's QDQ selectors (qdq_selectors.cc) fuse into QLinearConv / QGemm: every input of the node from a
/// DQ node, bias included, and only Q nodes after it (or after a redundant Relu). u8 activations with s8 weights
/// are the VNNI path of its x86 kernels. ConvTranspose stays float (ONNX Runtime's CPU kernels have no int8 one).
/// </summary>
public static class OnnxQuantizer
{
    public const int MinOpset = 13;

    /// <summary>The nodes and activations <see cref="Quantize"/> would quantise.</summary>
    public static QuantizationPlan Plan(ModelProto model)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet();
        var consumers = Consumers(graph);
        var nodes = new List<string>();
        var activations = new List<string>();
        foreach (var node in graph.Node)
        {
            if (node.Name == "" || !IsQuantizable(node, initializers) || initializers.ContainsKey(node.Input[0]) || graphOutputs.Contains(node.Input[0]))
                continue;
            nodes.Add(node.Name);
            activations.Add(node.Input[0]);
            var output = OutputAfterRelu(node.Output[0], consumers, graphOutputs);
            if (!graphOutputs.Contains(output))
                activations.Add(output);
        }
        var quantized = activations.Distinct().Where(a => !graphOutputs.Contains(a)).ToList();
        var graphInputs = graph.Input.Select(i => i.Name).ToHashSet();
        var boundary = quantized.Where(a => graphInputs.Contains(a) || consumers.TryGetValue(a, out var readers) && readers.Any(r => r.Output.Any(graphOutputs.Contains)));
        return new QuantizationPlan(nodes, quantized, boundary.ToHashSet());
    }

    /// <summary>The quantised model: <paramref name="model"/>'s graph rewritten by <paramref name="plan"/> with the
    /// calibrated activation <paramref name="ranges"/>, its metadata kept and <paramref name="metadata"/> added.</summary>
    public static ModelProto Quantize(ModelProto model, QuantizationPlan plan, IReadOnlyDictionary<string, TensorRange> ranges,
        IEnumerable<KeyValuePair<string, string>> metadata)
    {
        var opset = model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0;
        if (opset < MinOpset)
            throw new ArgumentException($"per-channel DequantizeLinear needs opset {MinOpset} or later (the model has {opset})");
        var result = model.Clone();
        new Rewriter(result.Graph, plan, ranges).Run();
        foreach (var (key, value) in metadata)
            result.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return result;
    }

    static bool IsQuantizable(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        bool FloatInitializer(int input, int rank) =>
            node.Input.Count > input && initializers.TryGetValue(node.Input[input], out var t) && t.DataType == (int)DataType.Float && t.Dims.Count == rank;
        bool NoBiasOr(int rank) => node.Input.Count < 3 || node.Input[2] == "" || FloatInitializer(2, rank);
        return node.Domain is "" or "ai.onnx" && node.OpType switch
        {
            "Conv" => node.Input.Count >= 2 && initializers.TryGetValue(node.Input[1], out var w) && w.DataType == (int)DataType.Float && w.Dims.Count >= 3 && NoBiasOr(1),
            // QGemm: y = A B' + C with alpha = beta = 1 and A not transposed
            "Gemm" => FloatInitializer(1, 2) && NoBiasOr(1) && Float(node, "alpha", 1) == 1 && Float(node, "beta", 1) == 1 && Int(node, "transA", 0) == 0,
            _ => false,
        };
    }

    /// <summary>The output of the Relu that alone reads <paramref name="output"/>, if there is one, else <paramref name="output"/>.</summary>
    static string OutputAfterRelu(string output, Dictionary<string, List<NodeProto>> consumers, HashSet<string> graphOutputs) =>
        !graphOutputs.Contains(output) && consumers.TryGetValue(output, out var readers) && readers is [{ OpType: "Relu" } relu]
            ? relu.Output[0]
            : output;

    static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var node in graph.Node)
            foreach (var input in node.Input.Where(i => i != "").Distinct())
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);
        return consumers;
    }

    static float Float(NodeProto node, string name, float fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.F ?? fallback;

    static long Int(NodeProto node, string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;

    /// <summary>uint8 asymmetric parameters of a range holding 0: scale (max - min) / 255, zero point round(-min / scale).</summary>
    public static (float Scale, byte ZeroPoint) ActivationParameters(TensorRange range)
    {
        var r = range.Including(0);
        float scale = r.Max > r.Min ? (r.Max - r.Min) / 255 : 1;
        return (scale, (byte)Math.Clamp(Math.Round(-r.Min / scale), 0, 255));
    }

    /// <summary>int8 symmetric per-channel weights: per output channel (the first <paramref name="channels"/>-th
    /// slices, or every <paramref name="channels"/>-th value when <paramref name="channelsLast"/>) scale max |w| / 127
    /// and round(w / scale) in [-127, 127].</summary>
    public static (sbyte[] Values, float[] Scales) QuantizeWeights(ReadOnlySpan<float> weights, int channels, bool channelsLast)
    {
        int perChannel = weights.Length / channels;
        int Index(int c, int i) => channelsLast ? i * channels + c : c * perChannel + i;
        var scales = new float[channels];
        var values = new sbyte[weights.Length];
        for (int c = 0; c < channels; c++)
        {
            float max = 0;
            for (int i = 0; i < perChannel; i++)
                max = Math.Max(max, Math.Abs(weights[Index(c, i)]));
            // an all-zero channel: any positive scale represents it exactly
            scales[c] = max > 0 ? max / 127 : 1;
            for (int i = 0; i < perChannel; i++)
                values[Index(c, i)] = (sbyte)Math.Clamp(MathF.Round(weights[Index(c, i)] / scales[c]), -127, 127);
        }
        return (values, scales);
    }

    /// <summary>Rewrites one graph in place.</summary>
    sealed class Rewriter(GraphProto graph, QuantizationPlan plan, IReadOnlyDictionary<string, TensorRange> ranges)
    {
        readonly Dictionary<string, TensorProto> initializers = graph.Initializer.ToDictionary(i => i.Name);
        readonly HashSet<string> names = [.. graph.Node.SelectMany(n => n.Output.Append(n.Name)), .. graph.Input.Select(i => i.Name), .. graph.Initializer.Select(i => i.Name)];
        /// <summary>Dequantized value of each quantised activation.</summary>
        readonly Dictionary<string, string> activations = [];
        /// <summary>Scale of each activation's DequantizeLinear output (what a quantised node reads).</summary>
        readonly Dictionary<string, float> scales = [];
        readonly List<NodeProto> nodes = [];

        public void Run()
        {
            var quantizedNodes = plan.Nodes.ToHashSet();
            var original = graph.Node.ToList();
            foreach (var input in graph.Input.Where(i => plan.Activations.Contains(i.Name)))
                QuantizeActivation(input.Name);
            foreach (var node in original)
            {
                foreach (var (input, index) in node.Input.Select((input, index) => (input, index)).ToList())
                    if (activations.TryGetValue(input, out var dequantized))
                        node.Input[index] = dequantized;
                if (quantizedNodes.Contains(node.Name))
                    QuantizeParameters(node);
                nodes.Add(node);
                foreach (var output in node.Output.Where(plan.Activations.Contains))
                    QuantizeActivation(output);
            }
            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            var used = nodes.SelectMany(n => n.Input).ToHashSet();
            var unused = graph.Initializer.Where(i => !used.Contains(i.Name)).ToList();
            foreach (var initializer in unused)
                graph.Initializer.Remove(initializer);
        }

        /// <summary>QuantizeLinear -> DequantizeLinear after <paramref name="tensor"/> (consumers rewired as they come).</summary>
        void QuantizeActivation(string tensor)
        {
            if (!ranges.TryGetValue(tensor, out var range))
                throw new ArgumentException($"no calibrated range for activation '{tensor}'");
            var (scale, zeroPoint) = ActivationParameters(range);
            var scaleName = AddInitializer(tensor + "_scale", DataType.Float, [], BitConverter.GetBytes(scale));
            var zeroPointName = AddInitializer(tensor + "_zero_point", DataType.Uint8, [], [zeroPoint]);
            var quantized = Unique(tensor + "_quantized");
            var dequantized = Unique(tensor + "_dequantized");
            nodes.Add(Node("QuantizeLinear", quantized, [tensor, scaleName, zeroPointName]));
            nodes.Add(Node("DequantizeLinear", dequantized, [quantized, scaleName, zeroPointName]));
            activations[tensor] = dequantized;
            scales[dequantized] = scale;
        }

        /// <summary>Weight (input 1) and bias (input 2) of a Conv or Gemm through DequantizeLinear nodes placed before it.</summary>
        void QuantizeParameters(NodeProto node)
        {
            float inputScale = scales[node.Input[0]];
            var weight = initializers[node.Input[1]];
            bool channelsLast = node.OpType == "Gemm" && Int(node, "transB", 0) == 0;
            int channels = (int)weight.Dims[channelsLast ? 1 : 0];
            var (values, weightScales) = QuantizeWeights(FloatValues(weight), channels, channelsLast);
            int axis = channelsLast ? 1 : 0;
            node.Input[1] = Dequantize(weight.Name, DataType.Int8, [.. weight.Dims], MemoryMarshal.AsBytes(values.AsSpan()), weightScales, axis, DataType.Int8, 1);
            if (node.Input.Count < 3 || node.Input[2] == "")
                return;
            var bias = FloatValues(initializers[node.Input[2]]);
            var biasScales = weightScales.Select(s => inputScale * s).ToArray();
            var biasValues = new int[bias.Length];
            for (int c = 0; c < bias.Length; c++)
                biasValues[c] = (int)Math.Clamp(Math.Round((double)bias[c] / biasScales[c]), int.MinValue, int.MaxValue);
            node.Input[2] = Dequantize(node.Input[2], DataType.Int32, [bias.Length], MemoryMarshal.AsBytes(biasValues.AsSpan()), biasScales, 0, DataType.Int32, 4);
        }

        string Dequantize(string name, DataType type, long[] dims, ReadOnlySpan<byte> values, float[] scales, int axis, DataType zeroPointType, int zeroPointBytes)
        {
            var quantized = AddInitializer(name + "_quantized", type, dims, values);
            var scale = AddInitializer(name + "_scale", DataType.Float, [scales.Length], MemoryMarshal.AsBytes(scales.AsSpan()));
            var zeroPoint = AddInitializer(name + "_zero_point", zeroPointType, [scales.Length], new byte[scales.Length * zeroPointBytes]);
            var output = Unique(name + "_dequantized");
            var node = Node("DequantizeLinear", output, [quantized, scale, zeroPoint]);
            node.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = axis });
            nodes.Add(node);
            return output;
        }

        string AddInitializer(string wanted, DataType type, long[] dims, ReadOnlySpan<byte> raw)
        {
            var tensor = new TensorProto { Name = Unique(wanted), DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
            tensor.Dims.AddRange(dims);
            graph.Initializer.Add(tensor);
            initializers[tensor.Name] = tensor;
            return tensor.Name;
        }

        /// <summary>A node named as its one output.</summary>
        static NodeProto Node(string opType, string output, string[] inputs) =>
            new() { OpType = opType, Name = output, Input = { inputs }, Output = { output } };

        string Unique(string wanted)
        {
            if (names.Add(wanted))
                return wanted;
            for (int i = 1; ; i++)
                if (names.Add($"{wanted}_{i}"))
                    return $"{wanted}_{i}";
        }

        static float[] FloatValues(TensorProto tensor) =>
            tensor.RawData.Length > 0 ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];
    }
}
