using Microsoft.ML.OnnxRuntime;
using PixelBox.Models;

namespace PixelBox.Onnx;

/// <summary>
/// An ONNX model loaded in ONNX Runtime (CPU): one float32 input, float32 outputs copied to managed memory.
/// Nothing here touches libtorch, so a process that predicts through this never loads it.
/// </summary>
public sealed class OnnxRuntimeSession : IDisposable
{
    readonly InferenceSession session;
    readonly string inputName;
    string[] outputNames;
    string[] observedNames = [];
    TensorObserver? observer;

    OnnxRuntimeSession(InferenceSession session, string path)
    {
        this.session = session;
        Path = path;
        inputName = session.InputMetadata.Keys.Single();
        outputNames = [.. session.OutputMetadata.Keys];
    }

    public string Path { get; }

    /// <summary>The model's metadata_props.</summary>
    public IReadOnlyDictionary<string, string> Metadata => session.ModelMetadata.CustomMetadataMap;

    public IReadOnlyList<string> OutputNames => outputNames;

    /// <summary>Loads a model with all graph optimisations (QDQ int8 models run on the int8 kernels).</summary>
    /// <param name="threads">Intra-op threads (0: ONNX Runtime's default, one per core).</param>
    public static OnnxRuntimeSession Open(string path, int threads = 0)
    {
        if (!File.Exists(path))
            throw new InputException(path, "file not found");
        return Open(options => new InferenceSession(path, options), path, threads);
    }

    /// <summary>Loads a model held in memory; <paramref name="source"/> names it in errors (the file it came from).</summary>
    public static OnnxRuntimeSession Open(byte[] model, string source, int threads = 0) =>
        Open(options => new InferenceSession(model, options), source, threads);

    static OnnxRuntimeSession Open(Func<SessionOptions, InferenceSession> create, string path, int threads)
    {
        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
        };
        InferenceSession session;
        try
        {
            session = create(options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InputException(path, $"ONNX Runtime cannot load it ({FirstLine(e.Message)})");
        }
        if (session.InputMetadata.Count != 1)
        {
            session.Dispose();
            throw new InputException(path, $"the model has {session.InputMetadata.Count} inputs; PixelBox models have one (images)");
        }
        return new OnnxRuntimeSession(session, System.IO.Path.GetFullPath(path));
    }

    /// <summary>
    /// Hands the graph outputs named <paramref name="outputs"/> to <paramref name="tensorObserver"/> on every run
    /// instead of returning them (a calibration model's extra outputs, whatever runs it), in place of earlier ones.
    /// </summary>
    public void Observe(IReadOnlyList<string> outputs, TensorObserver tensorObserver)
    {
        var all = session.OutputMetadata.Keys.ToList();
        if (outputs.FirstOrDefault(o => !all.Contains(o)) is { } missing)
            throw new ArgumentException($"the model has no output '{missing}'");
        observedNames = [.. outputs];
        outputNames = [.. all.Except(outputs)];
        observer = tensorObserver;
    }

    /// <summary>Runs the model on <paramref name="input"/> (row-major, of <paramref name="shape"/>); every output
    /// (but observed ones, <see cref="Observe"/>) as float32.</summary>
    public RawOutput[] Run(float[] input, long[] shape)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        IDisposableReadOnlyCollection<OrtValue> results;
        try
        {
            results = session.Run(runOptions, [inputName], [value], [.. outputNames, .. observedNames]);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InputException(Path, $"ONNX Runtime failed on an input of [{string.Join(", ", shape)}] ({FirstLine(e.Message)})");
        }
        using (results)
        {
            for (int i = 0; i < observedNames.Length; i++)
                observer!(i, results[outputNames.Length + i].GetTensorDataAsSpan<float>());
            return [.. results.Take(outputNames.Length).Select(r => new RawOutput(r.GetTensorDataAsSpan<float>().ToArray(), r.GetTensorTypeAndShape().Shape))];
        }
    }

    public void Dispose() => session.Dispose();

    static string FirstLine(string message) => message.Split('\n')[0].Trim();
}

/// <summary>Receives the values of an observed output (<see cref="OnnxRuntimeSession.Observe"/>, by its index there) during a run.</summary>
public delegate void TensorObserver(int index, ReadOnlySpan<float> values);
