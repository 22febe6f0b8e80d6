using Google.Protobuf;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Onnx.Proto;

namespace PixelBox.Onnx;

/// <summary>How activation ranges are calibrated.</summary>
public sealed record CalibrationSettings
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>For <see cref="CalibrationMethod.Percentile"/>: the share of values (in %) inside the range at each end.</summary>
    public double Percentile { get; init; } = 99.99;

    /// <summary>ONNX Runtime intra-op threads (0: one per core).</summary>
    public int Threads { get; init; }
}

/// <summary>
/// Runs a float model on calibration images and measures its activations: the tensors to calibrate become extra
/// graph outputs (through Identity nodes, so that graph inputs can be observed too), and the model runs inside the
/// ONNX predictor of its task, so that each image is decoded, resized or padded and normalised exactly as
/// <c>predict</c> will feed the quantised model. A first pass takes min and max; percentile and entropy
/// calibration take a second pass for histograms over those ranges (of all but the plan's boundary activations,
/// which keep their min-max range).
/// </summary>
public static class OnnxCalibration
{
    const string TapPrefix = "pixelbox.calibration/";

    /// <param name="progress">Called after each image: pass name, images done, images in the pass.</param>
    public static Dictionary<string, TensorRange> Ranges(ModelProto model, string source, QuantizationPlan plan,
        IReadOnlyList<string> images, CalibrationSettings settings, Action<string, int, int>? progress = null)
    {
        var activations = plan.Activations;
        using var predictor = Predictor(WithTaps(model, activations), source, settings.Threads);
        var ranges = Enumerable.Repeat(TensorRange.Empty, activations.Count).ToArray();
        Pass("min-max", (i, values) => ranges[i] = ranges[i].Union(values));
        for (int i = 0; i < ranges.Length; i++)
            if (!float.IsFinite(ranges[i].Min) || !float.IsFinite(ranges[i].Max))
                throw new InputException(source, $"activation '{activations[i]}' took non-finite values on the calibration images");
        if (settings.Method != CalibrationMethod.MinMax)
        {
            var histograms = ranges.Select(r => new ValueHistogram(r, magnitudes: settings.Method == CalibrationMethod.Entropy)).ToArray();
            Pass("histograms", (i, values) => histograms[i].Add(values));
            ranges = [.. histograms.Select((h, i) => plan.BoundaryActivations.Contains(activations[i]) ? h.Range
                : settings.Method == CalibrationMethod.Percentile ? h.Percentile(settings.Percentile)
                : h.Entropy(h.Range.Min >= 0 ? 256 : 128))];
        }
        return activations.Select((name, i) => (name, i)).ToDictionary(a => a.name, a => ranges[a.i].Including(0));

        void Pass(string name, TensorObserver observer)
        {
            predictor.Session.Observe([.. activations.Select(a => TapPrefix + a)], observer);
            for (int i = 0; i < images.Count; i++)
            {
                predictor.Run(RgbImageFile.Read(images[i]));
                progress?.Invoke(name, i + 1, images.Count);
            }
        }
    }

    /// <summary>The model with each activation also a graph output, TapPrefix + its name.</summary>
    static byte[] WithTaps(ModelProto model, IReadOnlyList<string> activations)
    {
        var tapped = model.Clone();
        foreach (var activation in activations)
        {
            var tap = TapPrefix + activation;
            tapped.Graph.Node.Add(new NodeProto { OpType = "Identity", Name = tap, Input = { activation }, Output = { tap } });
            tapped.Graph.Output.Add(new ValueInfoProto
            {
                Name = tap,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }
        return tapped.ToByteArray();
    }

    /// <summary>The task's ONNX predictor on the tapped model, and its session.</summary>
    static TappedPredictor Predictor(byte[] model, string source, int threads)
    {
        var session = OnnxRuntimeSession.Open(model, source, threads);
        try
        {
            return OnnxModelDescription.FromMetadata(session.Metadata, source).Task switch
            {
                ModelTasks.Segmentation => new TappedPredictor(session, OnnxSegmentationPredictor.FromSession(session), null),
                ModelTasks.Detection => new TappedPredictor(session, null, OnnxDetectionPredictor.FromSession(session)),
                var task => throw new InputException(source, $"cannot calibrate a {task} model"),
            };
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    sealed record TappedPredictor(OnnxRuntimeSession Session, OnnxSegmentationPredictor? Segmentation, OnnxDetectionPredictor? Detection) : IDisposable
    {
        public void Run(RgbImage image)
        {
            if (Segmentation is not null)
                Segmentation.Predict(image);
            else
                Detection!.Predict([image]);
        }

        public void Dispose() => ((IDisposable?)Segmentation ?? Detection!).Dispose();
    }
}
