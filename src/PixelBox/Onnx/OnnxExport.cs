using Google.Protobuf;
using PixelBox.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Onnx;

/// <summary>How a model is written as ONNX.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>Opset of the default ONNX domain (13..17; 17 is the newest the ONNX 1.12 checker knows).</summary>
    public int Opset { get; init; } = OnnxExport.DefaultOpset;

    /// <summary>Height and width symbolic ("height", "width") instead of fixed to <see cref="Height"/> x <see cref="Width"/>.</summary>
    public bool DynamicSize { get; init; }

    /// <summary>Input height of a static-size export.</summary>
    public int Height { get; init; }

    /// <summary>Input width of a static-size export.</summary>
    public int Width { get; init; }

    /// <summary>Key/value pairs written into the model's metadata_props.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata { get; init; } = [];
}

/// <summary>
/// Writes a model that describes its forward (<see cref="IOnnxExportable"/> for one output,
/// <see cref="IOnnxExportableMulti"/> for several) as an ONNX model: one float32 input "images"
/// [batch, C, H, W] (batch always symbolic), the forward's outputs, weights as initializers named by
/// their state-dict keys, and the given metadata.
/// </summary>
public static class OnnxExport
{
    public const int DefaultOpset = 17;
    public const int MinOpset = 13;
    public const int MaxOpset = 17;
    public const string InputName = "images";

    /// <param name="outputNames">Names of the forward's outputs in order; empty: "output0", "output1", ... (a detector's raw outputs).</param>
    public static ModelProto Build(nn.Module model, string graphName, int inChannels, IReadOnlyList<string> outputNames, OnnxExportOptions options)
    {
        if (options.Opset is < MinOpset or > MaxOpset)
            throw new ArgumentException($"opset must be in [{MinOpset}, {MaxOpset}] (got {options.Opset})");
        if (!options.DynamicSize && (options.Height < 1 || options.Width < 1))
            throw new ArgumentException($"a static export needs an input size (got {options.Height}x{options.Width})");
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var graph = new OnnxGraph(graphName, model, options.Opset);
            long side(int size) => options.DynamicSize ? OnnxValue.Unknown : size;
            var input = graph.AddInput(InputName, [OnnxValue.Unknown, inChannels, side(options.Height), side(options.Width)], ["batch", null, "height", "width"]);
            var outputs = model switch
            {
                IOnnxExportableMulti multi => multi.ExportOnnx(graph, [input]),
                IOnnxExportable single => [single.ExportOnnx(graph, input)],
                _ => throw new NotSupportedException($"model {graphName} has no ONNX export"),
            };
            if (outputNames.Count == 0)
                outputNames = [.. Enumerable.Range(0, outputs.Length).Select(i => $"output{i}")];
            if (outputs.Length != outputNames.Count)
                throw new InvalidOperationException($"{graphName} exported {outputs.Length} outputs, expected {outputNames.Count}");
            for (int i = 0; i < outputs.Length; i++)
                graph.AddOutput(outputs[i], outputNames[i], outputs[i].Rank == 4
                    ? ["batch", null, $"{outputNames[i]}_height", $"{outputNames[i]}_width"]
                    : ["batch", .. Enumerable.Range(1, outputs[i].Rank - 1).Select(d => $"{outputNames[i]}_dim{d}")]);

            var proto = new ModelProto
            {
                // IR 8 came with opset 15 (ONNX 1.10); IR 7 with opset 13 (ONNX 1.8).
                IrVersion = options.Opset >= 15 ? 8 : 7,
                ProducerName = "PixelBox",
                ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "",
                Graph = graph.Proto,
            };
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
            foreach (var (key, value) in options.Metadata)
                proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
            return proto;
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Writes a model file atomically (temp file + rename).</summary>
    public static void Write(ModelProto model, string path) => AtomicFile.Write(path, stream => model.WriteTo(stream));

    /// <summary>Reads a model file; a file that is not an ONNX model is a user error naming it.</summary>
    public static ModelProto Read(string path)
    {
        if (!File.Exists(path))
            throw new InputException(path, "file not found");
        try
        {
            using var stream = File.OpenRead(path);
            var model = ModelProto.Parser.ParseFrom(stream);
            if (model.Graph is null || model.Graph.Node.Count == 0)
                throw new InputException(path, "not an ONNX model (no graph)");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InputException(path, $"not an ONNX model ({e.Message})");
        }
    }
}
