using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Models;
using PixelBox.Onnx;
using PixelBox.Training;

namespace PixelBox.Inference;

/// <summary>What every detection predictor does, whatever runs its model (libtorch or ONNX Runtime).</summary>
public interface IDetectionPredictor : IDisposable
{
    DetectionModelInfo Info { get; }

    /// <summary>Pre- and post-processing; settable for inference (score threshold, NMS IoU, detections kept).</summary>
    DetectionSettings Settings { get; set; }

    /// <summary>Detections of each image, in its own pixels.</summary>
    IReadOnlyList<ImageDetections> Predict(IReadOnlyList<RgbImage> images);

    /// <summary>The resize that takes an image of <paramref name="width"/> x <paramref name="height"/> to the
    /// network input: letterbox or stretch to the settings' input size.</summary>
    static LetterboxTransform TransformFor(DetectionSettings settings, int width, int height)
    {
        int size = settings.InputSize;
        return settings.Resize == ResizeMode.Letterbox
            ? LetterboxTransform.For(width, height, size)
            : new LetterboxTransform(width, height, size, size, size, 0, 0);
    }

    /// <summary>Detections on the network input mapped back to the source image (boxes clipped; empty ones dropped).</summary>
    static ImageDetections ToSource(ImageDetections detections, LetterboxTransform transform)
    {
        var list = detections.Detections;
        var boxes = new float[4 * list.Count];
        for (int i = 0; i < list.Count; i++)
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (list[i].X1, list[i].Y1, list[i].X2, list[i].Y2);
        var mapped = transform.ToSource(boxes);
        var result = new List<DetectedObject>(list.Count);
        for (int i = 0; i < list.Count; i++)
        {
            float x1 = mapped[4 * i], y1 = mapped[4 * i + 1], x2 = mapped[4 * i + 2], y2 = mapped[4 * i + 3];
            if (x2 > x1 && y2 > y1)
                result.Add(list[i] with { X1 = x1, Y1 = y1, X2 = x2, Y2 = y2 });
        }
        return new ImageDetections(result);
    }
}

/// <summary>
/// Detects with an exported detector (<c>pixelbox export onnx</c>) in ONNX Runtime, without libtorch: the same
/// letterbox/stretch and normalisation as <see cref="DetectionPredictor"/> in plain C#, the network's raw outputs
/// from ONNX Runtime, and the model's own libtorch-free decoder (<see cref="DetectionDecoders"/>), so detections
/// equal the checkpoint's to float tolerance.
/// </summary>
public sealed class OnnxDetectionPredictor : IDetectionPredictor
{
    readonly OnnxRuntimeSession session;
    readonly IDetectionDecoder decoder;

    OnnxDetectionPredictor(OnnxRuntimeSession session, OnnxModelDescription description, DetectionModelInfo info)
    {
        this.session = session;
        Description = description;
        Info = info;
        decoder = DetectionDecoders.For(info.Name, info.NumClasses);
    }

    public DetectionModelInfo Info { get; private set; }

    public OnnxModelDescription Description { get; }

    public DetectionSettings Settings
    {
        get => Info.Settings;
        set
        {
            value.Validate();
            if (value.InputSize != Info.Settings.InputSize || value.Resize != Info.Settings.Resize || value.Normalization != Info.Settings.Normalization)
                throw new ArgumentException("an exported model's input size, resize mode and normalisation are fixed");
            Info = Info with { Settings = value };
        }
    }

    /// <param name="path">An ONNX file written by <c>pixelbox export onnx</c> from a detection checkpoint.</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0: one per core).</param>
    public static OnnxDetectionPredictor Load(string path, int threads = 0) => FromSession(OnnxRuntimeSession.Open(path, threads));

    /// <summary>A predictor on an open session of such a model (one that observes extra outputs: calibration); it owns the session.</summary>
    public static OnnxDetectionPredictor FromSession(OnnxRuntimeSession session)
    {
        var path = session.Path;
        try
        {
            var description = OnnxModelDescription.FromMetadata(session.Metadata, path);
            if (description.Task != ModelTasks.Detection)
                throw new InputException(path, $"is a {description.Task} model, not a detection model");
            var info = description.Parse<DetectionModelInfo>(path);
            if (!description.DynamicSize && (description.Height != info.Settings.InputSize || description.Width != info.Settings.InputSize))
                throw new InputException(path, $"exported for {description.Height}x{description.Width} inputs, but its settings resize images to {info.Settings.InputSize}");
            return new OnnxDetectionPredictor(session, description, info);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public IReadOnlyList<ImageDetections> Predict(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0)
            return [];
        if (Info.InChannels != 3)
            throw new InvalidOperationException($"the model takes {Info.InChannels} input channels, not RGB");
        int size = Info.Settings.InputSize, plane = 3 * size * size;
        var transforms = new LetterboxTransform[images.Count];
        var input = new float[images.Count * plane];
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i];
            transforms[i] = IDetectionPredictor.TransformFor(Info.Settings, image.Width, image.Height);
            var prepared = transforms[i].Apply(new DetectionSample(i.ToString(System.Globalization.CultureInfo.InvariantCulture), image.Width, image.Height, image.Pixels, [], []));
            Info.Settings.Normalization.ToChw(prepared.Image, size, size).CopyTo(input, (long)i * plane);
        }
        var outputs = session.Run(input, [images.Count, 3, size, size]);
        var detected = decoder.Decode(outputs, new ImageSize(size, size), Info.Settings);
        return [.. detected.Select((d, i) => IDetectionPredictor.ToSource(d, transforms[i]))];
    }

    /// <summary>The raw outputs of a batch of network inputs [N, 3, S, S] (row-major), as the model returns them.</summary>
    public RawOutput[] Run(float[] input, long[] shape) => session.Run(input, shape);

    public void Dispose() => session.Dispose();
}
