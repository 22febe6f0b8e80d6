using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Models;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Inference;

/// <summary>
/// Runs a detection model on images of any size: each image is letterboxed (or stretched, as the model's
/// settings say) to the square network input, normalised, batched, detected, and the boxes are mapped back
/// to the image's own pixels (clipped to it; boxes left without area are dropped).
/// </summary>
public sealed class DetectionPredictor : IDisposable
{
    readonly bool ownsModel;

    /// <summary>Wraps a model the caller owns and has put in eval mode (e.g. during validation).</summary>
    public DetectionPredictor(DetectionModel model, DetectionModelInfo info) : this(model, info, ownsModel: false) { }

    DetectionPredictor(DetectionModel model, DetectionModelInfo info, bool ownsModel)
    {
        if (model.NumClasses != info.NumClasses || model.InChannels != info.InChannels)
            throw new ArgumentException($"model has {model.NumClasses} classes and {model.InChannels} input channels, " +
                                        $"the description {info.NumClasses} and {info.InChannels}");
        Model = model;
        Info = info;
        this.ownsModel = ownsModel;
    }

    public DetectionModel Model { get; }

    public DetectionModelInfo Info { get; private set; }

    /// <summary>The pre/post-processing used (the checkpoint's unless changed, e.g. a higher score threshold).</summary>
    public DetectionSettings Settings
    {
        get => Model.Settings;
        set
        {
            value.Validate();
            Model.Settings = value;
            Info = Info with { Settings = value };
        }
    }

    /// <summary>Rebuilds the model a checkpoint describes, loads its weights and puts it in eval mode.</summary>
    public static DetectionPredictor Load(string checkpointPath)
    {
        var checkpoint = Checkpoint.Open(checkpointPath);
        var info = DetectionModelInfo.FromCheckpoint(checkpoint);
        DetectionModel model;
        try
        {
            model = info.CreateModel();
        }
        catch (Exception e) when (e is InputException or ArgumentException)
        {
            throw new InputException(checkpoint.Path, e.Message);
        }
        checkpoint.LoadModel(model);
        model.eval();
        return new DetectionPredictor(model, info, ownsModel: true);
    }

    /// <summary>How an image of this size becomes the network input (and how boxes map back).</summary>
    public LetterboxTransform TransformFor(int width, int height)
    {
        int size = Settings.InputSize;
        return Settings.Resize == ResizeMode.Letterbox
            ? LetterboxTransform.For(width, height, size)
            : new LetterboxTransform(width, height, size, size, size, 0, 0);
    }

    /// <summary>The network input of one image: resized to the square and padded with grey (114, as YOLO).</summary>
    public (DetectionSample Input, LetterboxTransform Transform) Prepare(RgbImage image, string id = "image")
    {
        if (Model.InChannels != 3)
            throw new InvalidOperationException($"the model takes {Model.InChannels} input channels, not RGB");
        var transform = TransformFor(image.Width, image.Height);
        var sample = new DetectionSample(id, image.Width, image.Height, image.Pixels, [], []);
        return (transform.Apply(sample), transform);
    }

    /// <summary>Detections of each image, in that image's pixels, highest score first.</summary>
    public IReadOnlyList<ImageDetections> Predict(IReadOnlyList<RgbImage> images)
    {
        if (images.Count == 0)
            return [];
        var prepared = images.Select((image, i) => Prepare(image, i.ToString())).ToList();
        using var batch = DetectionBatchLoader.Collate(prepared.Select(p => p.Input).ToList(), Info.Settings.Normalization);
        return Predict(batch.Images, prepared.Select(p => p.Transform).ToList());
    }

    /// <summary>Detections of a batch of network inputs [N, C, S, S] mapped back through each image's transform.</summary>
    public IReadOnlyList<ImageDetections> Predict(Tensor inputs, IReadOnlyList<LetterboxTransform> transforms)
    {
        if (inputs.shape[0] != transforms.Count)
            throw new ArgumentException($"{inputs.shape[0]} inputs but {transforms.Count} transforms");
        IReadOnlyList<ImageDetections> detected;
        using (no_grad())
            detected = Model.Detect(inputs);
        return detected.Select((d, i) => ToSource(d, transforms[i])).ToList();
    }

    public ImageDetections Predict(RgbImage image) => Predict([image])[0];

    /// <summary>Boxes on the network input mapped to the image's pixels and clipped; those without area dropped.</summary>
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

    public void Dispose()
    {
        if (ownsModel)
            Model.Dispose();
    }
}
