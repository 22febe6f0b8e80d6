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
public sealed class DetectionPredictor : IDetectionPredictor
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
    /// <summary>Precision and layout the model runs in (<see cref="InferencePrecision.Convert"/>); float32 NCHW unless loaded otherwise.</summary>
    public Precision Precision { get; private set; } = Precision.Fp32;

    public bool ChannelsLast { get; private set; }

    /// <summary>Layers left in float32 because their bf16 kernel failed the conversion probe.</summary>
    public IReadOnlyList<string> Float32Layers { get; private set; } = [];

    /// <param name="options">Precision and layout (null: <see cref="InferenceOptions.Default"/>, bf16 where the CPU has it natively).</param>
    public static DetectionPredictor Load(string checkpointPath, InferenceOptions? options = null)
    {
        options ??= InferenceOptions.Default;
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
        var predictor = new DetectionPredictor(model, info, ownsModel: true);
        predictor.Convert(InferencePrecision.Resolve(options.Precision), options.UsesChannelsLast(info.Name));
        return predictor;
    }

    /// <summary>Converts the model in place for inference in <paramref name="precision"/> and layout; outputs stay float32.</summary>
    public void Convert(Precision precision, bool channelsLast)
    {
        precision = InferencePrecision.Resolve(precision);
        if (Precision != Precision.Fp32 || ChannelsLast)
            throw new InvalidOperationException("the model was converted already");
        Float32Layers = InferencePrecision.Convert(Model, precision, channelsLast);
        (Precision, ChannelsLast) = (precision, channelsLast);
    }

    /// <summary>How an image of this size becomes the network input (and how boxes map back).</summary>
    public LetterboxTransform TransformFor(int width, int height) => IDetectionPredictor.TransformFor(Settings, width, height);

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
        {
            using var converted = InferencePrecision.Input(inputs, Precision, ChannelsLast);
            detected = Model.Detect(converted);
        }
        return detected.Select((d, i) => IDetectionPredictor.ToSource(d, transforms[i])).ToList();
    }

    public ImageDetections Predict(RgbImage image) => Predict([image])[0];

    /// <summary>Boxes on the network input mapped to the image's pixels and clipped; those without area dropped.</summary>
    public void Dispose()
    {
        if (ownsModel)
            Model.Dispose();
    }
}
