using System.Runtime.InteropServices;
using Google.Protobuf;
using PixelBox.Onnx.Proto;
using PixelBox.Interop;
using TorchSharp;
using static TorchSharp.torch;
using TorchTensor = TorchSharp.torch.Tensor;

namespace PixelBox.Onnx;

/// <summary>
/// Writes a network into an ONNX graph (the ONNX protobuf schema, <see cref="GraphProto"/>): graph inputs
/// and outputs, initializers named after the state-dict keys, and nodes made by the op helpers
/// (<c>OnnxGraph.Ops.cs</c>). TorchSharp cannot trace a forward, so each model describes its own graph
/// (<see cref="IOnnxExportable"/>) with <see cref="Apply(nn.Module, OnnxValue)"/> for its submodules and the op
/// helpers for what its forward does between them; <see cref="OnnxModuleExporters"/> covers TorchSharp's
/// own module types.
/// </summary>
public sealed partial class OnnxGraph
{
    readonly GraphProto graph;
    readonly Dictionary<nn.Module, string> modulePaths = new(ReferenceEqualityComparer.Instance);
    readonly HashSet<string> names = [];
    readonly Dictionary<string, OnnxValue> int64Constants = [];

    /// <param name="name">Graph name.</param>
    /// <param name="root">The module being exported: initializer and node names are its submodules' paths.</param>
    /// <param name="opset">ONNX opset of the default domain the graph is written for.</param>
    public OnnxGraph(string name, nn.Module root, int opset)
    {
        graph = new GraphProto { Name = name };
        Opset = opset;
        foreach (var (path, module) in root.named_modules())
            modulePaths.TryAdd(module, path);
        modulePaths.TryAdd(root, "");
    }

    public int Opset { get; }

    /// <summary>The graph written so far.</summary>
    public GraphProto Proto => graph;

    /// <summary>The state-dict path of a submodule of the exported model ("" for the model itself).</summary>
    public string PathOf(nn.Module module) =>
        modulePaths.TryGetValue(module, out var path)
            ? path
            : throw new ArgumentException($"module {module.GetName()} is not part of the exported model");

    /// <summary>Writes <paramref name="module"/>'s forward for one input: its own export when it has one
    /// (<see cref="IOnnxExportable"/>), else the exporter of its TorchSharp type.</summary>
    public OnnxValue Apply(nn.Module module, OnnxValue input) => module switch
    {
        IOnnxExportable exportable => exportable.ExportOnnx(this, input),
        _ => OnnxModuleExporters.Export(this, module, input),
    };

    /// <summary>Writes the forward of a module of several inputs or outputs (<see cref="IOnnxExportableMulti"/>).</summary>
    public OnnxValue[] Apply(nn.Module module, params OnnxValue[] inputs) => module switch
    {
        IOnnxExportableMulti exportable => exportable.ExportOnnx(this, inputs),
        _ when inputs.Length == 1 => [Apply(module, inputs[0])],
        _ => throw new NotSupportedException($"module {module.GetName()} ({module.GetType().Name}) has no ONNX export for {inputs.Length} inputs"),
    };

    /// <summary>Declares a float32 graph input; unknown dimensions get the symbolic names given (e.g. "height").</summary>
    public OnnxValue AddInput(string name, long[] shape, IReadOnlyList<string?> dimNames)
    {
        Claim(name);
        graph.Input.Add(ValueInfo(name, shape, dimNames));
        return new OnnxValue(name, shape);
    }

    /// <summary>Declares <paramref name="value"/> a graph output called <paramref name="name"/>.</summary>
    public void AddOutput(OnnxValue value, string name, IReadOnlyList<string?>? dimNames = null)
    {
        if (value.Name != name)
        {
            Claim(name);
            graph.Node.Add(new NodeProto { OpType = "Identity", Name = name, Input = { value.Name }, Output = { name } });
        }
        graph.Output.Add(ValueInfo(name, value.Shape, dimNames ?? new string?[value.Rank]));
    }

    /// <summary>A float32 initializer holding <paramref name="tensor"/> (converted from any floating type).</summary>
    public OnnxValue Initializer(string name, TorchTensor tensor)
    {
        using var values = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return Initializer(name, TensorValues.ToArray<float>(values), values.shape);
    }

    /// <summary>A float32 initializer with the given values (row-major) and dimensions.</summary>
    public OnnxValue Initializer(string name, float[] values, long[] dims)
    {
        name = Unique(name);
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        proto.Dims.AddRange(dims);
        // raw_data is little-endian by the ONNX spec, as .NET's float layout on every supported platform.
        proto.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        graph.Initializer.Add(proto);
        return new OnnxValue(name, dims);
    }

    /// <summary>A 1-D int64 constant (shared between nodes that need the same values).</summary>
    public OnnxValue Int64s(params long[] values)
    {
        var key = string.Join(",", values);
        if (int64Constants.TryGetValue(key, out var existing))
            return existing;
        var name = Unique("const_i64_" + (values.Length <= 4 ? string.Join("_", values).Replace('-', 'm') : $"{values.Length}"));
        var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        graph.Initializer.Add(proto);
        return int64Constants[key] = new OnnxValue(name, [values.Length]);
    }

    /// <summary>An int64 initializer of any shape (not shared).</summary>
    OnnxValue Int64Tensor(string name, long[] values, long[] dims)
    {
        var proto = new TensorProto { Name = Unique(name), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.AddRange(dims);
        proto.Int64Data.AddRange(values);
        graph.Initializer.Add(proto);
        return new OnnxValue(proto.Name, dims);
    }

    /// <summary>
    /// Adds a node of <paramref name="opType"/> with one output of <paramref name="outputShape"/>.
    /// A null input is an omitted optional input (written as ""). Attribute values: int/long, long[],
    /// float/double, float[] or string.
    /// </summary>
    public OnnxValue Node(string opType, string? name, long[] outputShape, OnnxValue?[] inputs, params (string Name, object Value)[] attributes) =>
        Node(opType, name, [outputShape], inputs, attributes)[0];

    /// <summary>Adds a node with one output per entry of <paramref name="outputShapes"/>.</summary>
    public OnnxValue[] Node(string opType, string? name, long[][] outputShapes, OnnxValue?[] inputs, params (string Name, object Value)[] attributes)
    {
        var nodeName = Unique(string.IsNullOrEmpty(name) ? opType : name);
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.AddRange(inputs.Select(i => i?.Name ?? ""));
        var outputs = new OnnxValue[outputShapes.Length];
        for (int i = 0; i < outputs.Length; i++)
        {
            // A single output is named as its node (node and value names are separate namespaces in ONNX).
            var outputName = outputs.Length == 1 ? nodeName : Unique($"{nodeName}:{i}");
            node.Output.Add(outputName);
            outputs[i] = new OnnxValue(outputName, outputShapes[i]);
        }
        foreach (var (attributeName, value) in attributes)
            node.Attribute.Add(Attribute(attributeName, value));
        graph.Node.Add(node);
        return outputs;
    }

    /// <summary>A name not used yet in this graph: <paramref name="wanted"/>, or it with a numeric suffix.</summary>
    public string Unique(string wanted)
    {
        if (names.Add(wanted))
            return wanted;
        for (int i = 1; ; i++)
            if (names.Add($"{wanted}_{i}"))
                return $"{wanted}_{i}";
    }

    /// <summary>A name not used yet, without claiming it (a prefix for the names of a group of nodes).</summary>
    public string FreeName(string wanted)
    {
        if (!names.Contains(wanted))
            return wanted;
        for (int i = 1; ; i++)
            if (!names.Contains($"{wanted}_{i}"))
                return $"{wanted}_{i}";
    }

    void Claim(string name)
    {
        if (!names.Add(name))
            throw new ArgumentException($"the graph already has a value called '{name}'");
    }

    static AttributeProto Attribute(string name, object value)
    {
        var attribute = new AttributeProto { Name = name };
        switch (value)
        {
            case int or long:
                attribute.Type = AttributeProto.Types.AttributeType.Int;
                attribute.I = Convert.ToInt64(value);
                break;
            case long[] ints:
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints);
                break;
            case float or double:
                attribute.Type = AttributeProto.Types.AttributeType.Float;
                attribute.F = Convert.ToSingle(value);
                break;
            case float[] floats:
                attribute.Type = AttributeProto.Types.AttributeType.Floats;
                attribute.Floats.AddRange(floats);
                break;
            case string text:
                attribute.Type = AttributeProto.Types.AttributeType.String;
                attribute.S = ByteString.CopyFromUtf8(text);
                break;
            default:
                throw new ArgumentException($"attribute {name}: unsupported value type {value.GetType().Name}");
        }
        return attribute;
    }

    static ValueInfoProto ValueInfo(string name, long[] shape, IReadOnlyList<string?> dimNames)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        for (int i = 0; i < shape.Length; i++)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (shape[i] != OnnxValue.Unknown)
                dim.DimValue = shape[i];
            else if (i < dimNames.Count && dimNames[i] is { } symbol)
                dim.DimParam = symbol;
            tensorType.Shape.Dim.Add(dim);
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}

/// <summary>A module that writes its own forward (one tensor in, one out) into an ONNX graph, mirroring <c>forward</c>.</summary>
public interface IOnnxExportable
{
    OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input);
}

/// <summary>A backbone that writes its forward into an ONNX graph: the feature maps it returns, by name.</summary>
public interface IOnnxFeatureExtractor
{
    Dictionary<string, OnnxValue> ExportOnnx(OnnxGraph graph, OnnxValue input);
}

/// <summary>A module of several tensor inputs or outputs (a detector's raw outputs, a multi-level head) that
/// writes its own forward into an ONNX graph; outputs in the order <c>forward</c> returns them.</summary>
public interface IOnnxExportableMulti
{
    OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs);
}
