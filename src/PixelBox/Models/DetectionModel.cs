using PixelBox.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// Ground truth of one image for training: boxes float32 [n, 4] as (x1, y1, x2, y2) in the pixels of the
/// image tensor the model is given, labels int64 [n] in 0..NumClasses-1. n may be 0 (an image of background).
/// </summary>
public sealed class DetectionTarget(Tensor boxes, Tensor labels) : IDisposable
{
    public Tensor Boxes { get; } = boxes;

    public Tensor Labels { get; } = labels;

    public void Dispose()
    {
        Boxes.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// The one contract every detector meets, as torchvision's: in training mode <see cref="Losses"/> gives named
/// losses of a batch; in eval mode <see cref="Detect"/> gives per-image detections (boxes xyxy in the pixels
/// of the image tensor, scores, labels) after the score threshold, top-k, NMS and detection limit of
/// <see cref="Settings"/>. <see cref="Module{T, TResult}.forward"/> is the network alone, up to its raw
/// head outputs (what is exported to ONNX); <see cref="Decoder"/> turns raw outputs into detections in plain
/// C#, so that a model run by another runtime is decoded by the same code. Resizing and normalising images
/// is the caller's (the predictor's), following <see cref="Settings"/>; model code knows nothing of files.
/// </summary>
public abstract class DetectionModel : nn.Module<Tensor, Tensor[]>
{
    protected DetectionModel(string name, int numClasses, int inChannels, DetectionSettings settings) : base(name)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "at least one class");
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "at least one input channel");
        NumClasses = numClasses;
        InChannels = inChannels;
        Settings = settings;
    }

    /// <summary>Every detector registers its layers here at the end of its constructor; this is also where the
    /// convolutions oneDNN's AVX-512 kernels get wrong are routed around the defect (see
    /// <see cref="ChannelTailConvolutions"/>), and strided 1x1 convolutions around a oneDNN crash
    /// (<see cref="StridedPointwiseConvolutions"/>); widely dilated ones run channels-last for speed
    /// (<see cref="WideDilationConvolutions"/>).</summary>
    protected override void RegisterComponents()
    {
        base.RegisterComponents();
        ChannelTailConvolutions.Guard(this);
        StridedPointwiseConvolutions.Guard(this);
        WideDilationConvolutions.Guard(this);
    }

    /// <summary>Object classes, background excluded (labels 0..NumClasses-1).</summary>
    public int NumClasses { get; }

    public int InChannels { get; }

    /// <summary>Pre- and post-processing: stored in checkpoints, changeable for inference (e.g. the score threshold).</summary>
    public DetectionSettings Settings { get; set; }

    /// <summary>Decodes raw outputs into detections without libtorch.</summary>
    public abstract IDetectionDecoder Decoder { get; }

    /// <summary>Named losses (torchvision's loss dict) for raw outputs of a batch and its targets; the
    /// total the optimizer minimises is their sum (weights are already applied).</summary>
    public abstract IReadOnlyList<(string Name, Tensor Value)> ComputeLosses(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize);

    /// <summary>Training: the named losses of images [N, C, H, W] with one target per image.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Losses(Tensor images, IReadOnlyList<DetectionTarget> targets)
    {
        if (images.shape[0] != targets.Count)
            throw new ArgumentException($"{images.shape[0]} images but {targets.Count} targets");
        return ComputeLosses(forward(images), targets, ImageSize.Of(images));
    }

    /// <summary>Inference: the detections of each image of [N, C, H, W], in that tensor's pixels.</summary>
    public IReadOnlyList<ImageDetections> Detect(Tensor images)
    {
        using var scope = NewDisposeScope();
        var outputs = forward(images);
        var raw = outputs.Select(RawOutput.From).ToArray();
        return Decoder.Decode(raw, ImageSize.Of(images), Settings);
    }
}

/// <summary>Height and width of the image tensor a model was given.</summary>
public readonly record struct ImageSize(int Height, int Width)
{
    public static ImageSize Of(Tensor images) => new((int)images.shape[^2], (int)images.shape[^1]);
}

/// <summary>A raw output tensor copied to managed memory: float32 values in row-major order and their shape.</summary>
public sealed record RawOutput(float[] Values, long[] Shape)
{
    public static RawOutput From(Tensor tensor)
    {
        using var values = tensor.detach().to(ScalarType.Float32).cpu().contiguous();
        return new RawOutput(TensorValues.ToArray<float>(values), values.shape);
    }
}

/// <summary>Turns a detector's raw outputs into per-image detections in plain C# (no libtorch), so that
/// libtorch and ONNX Runtime runs of the same model are decoded identically.</summary>
public interface IDetectionDecoder
{
    IReadOnlyList<ImageDetections> Decode(IReadOnlyList<RawOutput> outputs, ImageSize inputSize, DetectionSettings settings);
}

/// <summary>One detection: a box (x1, y1, x2, y2) in pixels, its score and class label (0..NumClasses-1).</summary>
public readonly record struct DetectedObject(float X1, float Y1, float X2, float Y2, float Score, int Label);

/// <summary>The detections of one image, highest score first.</summary>
public sealed record ImageDetections(IReadOnlyList<DetectedObject> Detections)
{
    /// <summary>The first <paramref name="maxDetections"/> of the candidates NMS kept (in its order), from
    /// candidate boxes (x1, y1, x2, y2 each), scores and labels: every decoder's last step.</summary>
    public static ImageDetections FromKept(ReadOnlySpan<int> keep, ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores,
                                           ReadOnlySpan<long> labels, int maxDetections)
    {
        var detections = new DetectedObject[Math.Min(keep.Length, maxDetections)];
        for (int i = 0; i < detections.Length; i++)
        {
            int j = keep[i];
            detections[i] = new DetectedObject(boxes[4 * j], boxes[4 * j + 1], boxes[4 * j + 2], boxes[4 * j + 3], scores[j], (int)labels[j]);
        }
        return new ImageDetections(detections);
    }
}
