using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Models;
using PixelBox.Training;
using PixelBox.Visualization;
using PixelBox.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Inference;

/// <summary>The files written for one input image (<paramref name="Logits"/>: the .npy file, when asked for).</summary>
public sealed record PredictedImage(string Input, string Mask, string Overlay, int Width, int Height, string? Logits = null);

/// <summary>A segmentation model ready to predict images, whatever runs it (libtorch or ONNX Runtime).</summary>
public interface ISegmentationPredictor : IDisposable
{
    SegmentationModelInfo Info { get; }

    /// <summary>The predicted index mask of one RGB image, at its size.</summary>
    IndexMask Predict(RgbImage image);

    /// <summary>The logits of one RGB image before the arg-max: float32 [classes, H, W] in row-major order, at its size.</summary>
    float[] PredictLogits(RgbImage image);

    /// <summary>Logits [count, classes, H, W] of normalised images [count, channels, H, W] (row-major), at their size:
    /// the <see cref="TileLogits"/> of sliding-window prediction.</summary>
    float[] PredictLogits(float[] images, int count, int height, int width);

    /// <summary>The side the model is fed for an image side of <paramref name="side"/> (the next it accepts; a model
    /// that overlap-tiles takes any side). InputException when there is none.</summary>
    int AcceptedSide(int side);

    /// <summary>
    /// Predicts one image file and writes &lt;stem&gt;.png (palette index mask) and &lt;stem&gt;_overlay.png
    /// (the image and the mask blended over it, side by side) into <paramref name="outDir"/>; with
    /// <paramref name="saveLogits"/> also &lt;stem&gt;_logits.npy (float32 C x H x W, numpy's .npy).
    /// </summary>
    PredictedImage PredictFile(string imagePath, string outDir, bool saveLogits = false);

    /// <summary>What every predictor's <see cref="PredictFile"/> does, whatever runs its model.</summary>
    protected static PredictedImage PredictFile(ISegmentationPredictor predictor, string imagePath, string outDir, bool saveLogits)
    {
        var image = RgbImageFile.Read(imagePath);
        IndexMask mask;
        float[]? logits = null;
        try
        {
            if (saveLogits)
            {
                logits = predictor.PredictLogits(image);
                mask = new IndexMask(image.Width, image.Height, OnnxSegmentationPredictor.ArgMax(logits, predictor.Info.NumClasses, image.Width * image.Height));
            }
            else
                mask = predictor.Predict(image);
        }
        catch (InputException e)
        {
            // The image's size does not suit the model: the file is what the user can change.
            throw new InputException(imagePath, $"{image.Width}x{image.Height}: {e.Message}");
        }
        var (maskName, overlayName) = SegmentationPredictor.OutputNames(imagePath);
        var maskPath = Path.Combine(outDir, maskName);
        var overlayPath = Path.Combine(outDir, overlayName);
        IndexMaskPng.Write(maskPath, mask, IndexMaskPng.VocPalette);
        RgbImageFile.WritePng(overlayPath, SegmentationOverlay.ImageAndBlend(image, mask));
        string? logitsPath = null;
        if (logits is not null)
        {
            logitsPath = Path.Combine(outDir, SegmentationPredictor.LogitsName(imagePath));
            Interop.NpyFile.Write(logitsPath, logits, [predictor.Info.NumClasses, image.Height, image.Width]);
        }
        return new PredictedImage(imagePath, maskPath, overlayPath, image.Width, image.Height, logitsPath);
    }
}

/// <summary>
/// Runs a segmentation model on images of any size and takes the arg-max class per pixel. A model whose
/// output is as large as its input (unet-same, FCN) gets each side padded up to the nearest size it
/// accepts (e.g. a multiple of 16 for unet-same) by repeating the border, and the labels are cropped
/// back; a model whose output is smaller (the paper's valid U-Net) predicts by overlap-tiling
/// (<see cref="OverlapTilePredictor"/>).
/// </summary>
public sealed class SegmentationPredictor : ISegmentationPredictor
{
    const int MaxSizeSearch = 4096;

    /// <summary>Largest tile output of overlap-tiling: the paper's 388 (from 572 inputs) bounds memory.</summary>
    const int MaxTileOutput = 388;

    readonly Dictionary<int, int> paddedSizes = [];
    readonly Dictionary<int, OverlapTilePredictor> tilers = [];
    readonly bool shrinks;
    readonly bool ownsModel;

    /// <summary>Wraps a model the caller owns and has put in eval mode (e.g. during validation).</summary>
    public SegmentationPredictor(SegmentationModel model, SegmentationModelInfo info) : this(model, info, ownsModel: false) { }

    SegmentationPredictor(SegmentationModel model, SegmentationModelInfo info, bool ownsModel)
    {
        if (model.NumClasses != info.NumClasses || model.InChannels != info.InChannels)
            throw new ArgumentException($"model has {model.NumClasses} classes and {model.InChannels} input channels, " +
                                        $"the description {info.NumClasses} and {info.InChannels}");
        Model = model;
        Info = info;
        this.ownsModel = ownsModel;
        shrinks = Shrinks(model, info.Name);
    }

    public SegmentationModel Model { get; }

    public SegmentationModelInfo Info { get; }

    /// <summary>
    /// Rebuilds the model a checkpoint describes, loads its weights, puts it in eval mode and converts it as
    /// <paramref name="options"/> say (default: bf16 where the CPU has it natively, the model's fastest layout;
    /// <see cref="InferenceOptions.Exact"/> for the plain float32 forward).
    /// </summary>
    public static SegmentationPredictor Load(string checkpointPath, InferenceOptions? options = null)
    {
        options ??= InferenceOptions.Default;
        var checkpoint = Checkpoint.Open(checkpointPath);
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        if (info.InChannels != 3)
            throw new InputException(checkpoint.Path, $"model '{info.Name}' takes {info.InChannels} input channels; predicting from RGB images needs 3");
        SegmentationModel model;
        try
        {
            model = info.CreateModel();
        }
        catch (InputException e)
        {
            throw new InputException(checkpoint.Path, e.Message);
        }
        try
        {
            checkpoint.LoadModel(model);
            model.eval();
            var prepared = InferenceSegmentationModel.Wrap(model, options.Precision, options.UsesChannelsLast(info.Name));
            return new SegmentationPredictor(prepared, info, ownsModel: true);
        }
        catch (InputException e) when (!e.Message.StartsWith(checkpoint.Path, StringComparison.Ordinal))
        {
            model.Dispose();
            throw new InputException(checkpoint.Path, e.Message);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Class labels int64 [N, H, W] for normalised images float32 [N, C, H, W].</summary>
    public Tensor PredictLabels(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        return Logits(images).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>Logits float32 [N, classes, H, W] at the input's size for normalised images float32 [N, C, H, W].</summary>
    public Tensor PredictLogits(Tensor images)
    {
        using var scope = torch.NewDisposeScope();
        return Logits(images).to(ScalarType.Float32).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The model's logits (in its precision) at the input's size: padded and cropped back, or tiled.</summary>
    Tensor Logits(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != Model.InChannels)
            throw new ArgumentException($"expected images [N, {Model.InChannels}, H, W], got [{string.Join(", ", images.shape)}]");
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        long height = images.shape[2], width = images.shape[3];
        if (shrinks)
            return TilerFor((int)Math.Max(height, width)).Predict(images).MoveToOuterDisposeScope();
        long paddedHeight = PaddedSize((int)height), paddedWidth = PaddedSize((int)width);
        var input = paddedHeight == height && paddedWidth == width
            ? images
            : nn.functional.pad(images, [0, paddedWidth - width, 0, paddedHeight - height], PaddingModes.Replicate);
        var logits = Model.forward(input);
        return logits.narrow(2, 0, height).narrow(3, 0, width).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The predicted index mask of one RGB image.</summary>
    public IndexMask Predict(RgbImage image)
    {
        if (Model.InChannels != 3)
            throw new InputException($"model '{Info.Name}' takes {Model.InChannels} input channels; predicting from RGB images needs 3");
        var sample = new SegmentationSample("image", image.Width, image.Height, image.Pixels, new byte[image.Width * image.Height]);
        using var batch = SegmentationBatchLoader.Collate([sample], Info.Normalization);
        using var labels = PredictLabels(batch.Images);
        using var bytes = labels.to(ScalarType.Byte);
        return new IndexMask(image.Width, image.Height, TensorValues.ToArray<byte>(bytes));
    }

    /// <inheritdoc cref="ISegmentationPredictor.PredictLogits(RgbImage)"/>
    public float[] PredictLogits(RgbImage image)
    {
        if (Model.InChannels != 3)
            throw new InputException($"model '{Info.Name}' takes {Model.InChannels} input channels; predicting from RGB images needs 3");
        var sample = new SegmentationSample("image", image.Width, image.Height, image.Pixels, new byte[image.Width * image.Height]);
        using var batch = SegmentationBatchLoader.Collate([sample], Info.Normalization);
        using var logits = PredictLogits(batch.Images);
        return TensorValues.ToArray<float>(logits);
    }

    /// <inheritdoc cref="ISegmentationPredictor.PredictLogits(float[], int, int, int)"/>
    public float[] PredictLogits(float[] images, int count, int height, int width)
    {
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(images, [count, Model.InChannels, height, width]);
        return TensorValues.ToArray<float>(PredictLogits(input));
    }

    /// <inheritdoc cref="ISegmentationPredictor.AcceptedSide"/>
    public int AcceptedSide(int side) => shrinks ? side : PaddedSize(side);

    /// <inheritdoc cref="ISegmentationPredictor.PredictFile"/>
    public PredictedImage PredictFile(string imagePath, string outDir, bool saveLogits = false) =>
        ISegmentationPredictor.PredictFile(this, imagePath, outDir, saveLogits);

    /// <summary>The logits file <see cref="PredictFile"/> writes for an image when asked: &lt;stem&gt;_logits.npy.</summary>
    public static string LogitsName(string imagePath) => Path.GetFileNameWithoutExtension(imagePath) + "_logits.npy";

    /// <summary>The file names <see cref="PredictFile"/> writes for an image: &lt;stem&gt;.png and &lt;stem&gt;_overlay.png.</summary>
    public static (string Mask, string Overlay) OutputNames(string imagePath)
    {
        var stem = Path.GetFileNameWithoutExtension(imagePath);
        return (stem + ".png", stem + "_overlay.png");
    }

    /// <summary>The image files an input names: the file itself, or the images directly inside a folder (sorted).</summary>
    public static IReadOnlyList<string> FindImages(string input)
    {
        if (File.Exists(input))
            return [input];
        if (!Directory.Exists(input))
            throw new InputException(input, "no such file or folder");
        var images = Directory.EnumerateFiles(input)
            .Where(f => MaskFolderDataset.ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (images.Count == 0)
            throw new InputException(input, $"folder holds no images ({string.Join(", ", MaskFolderDataset.ImageExtensions)})");
        foreach (var image in images)
            InputFile.CheckRegular(image); // a FIFO or device among them: refused before any work, not mid-way
        var stems = images.GroupBy(Path.GetFileNameWithoutExtension).FirstOrDefault(g => g.Count() > 1);
        if (stems is not null)
            throw new InputException(input, $"two images share the name '{stems.Key}' ({string.Join(", ", stems.Select(Path.GetFileName))}), so their outputs would collide");
        return images;
    }

    public void Dispose()
    {
        if (ownsModel)
            Model.Dispose();
    }

    /// <summary>The smallest side at least <paramref name="size"/> that the model maps onto itself.</summary>
    int PaddedSize(int size)
    {
        if (paddedSizes.TryGetValue(size, out var padded))
            return padded;
        for (int candidate = size; candidate <= size + MaxSizeSearch; candidate++)
            if (TryOutputSize(Model, candidate) == candidate)
                return paddedSizes[size] = candidate;
        throw new InputException($"model '{Info.Name}' takes no input side between {size} and {size + MaxSizeSearch}");
    }

    /// <summary>Tiles whose output covers a side of <paramref name="size"/> in one tile, up to <see cref="MaxTileOutput"/>.</summary>
    OverlapTilePredictor TilerFor(int size)
    {
        int wanted = Math.Min(size, MaxTileOutput);
        if (tilers.TryGetValue(wanted, out var tiler))
            return tiler;
        for (int candidate = wanted; candidate <= wanted + MaxSizeSearch; candidate++)
            if (TryOutputSize(Model, candidate) >= wanted)
                return tilers[wanted] = new OverlapTilePredictor(Model, candidate);
        throw new InputException($"model '{Info.Name}' has no tile size with an output of {wanted} pixels");
    }

    /// <summary>Whether the model's output is smaller than its input (judged at its smallest valid input side).</summary>
    static bool Shrinks(SegmentationModel model, string name)
    {
        for (int candidate = 1; candidate <= MaxSizeSearch; candidate++)
        {
            int output = TryOutputSize(model, candidate);
            if (output > 0)
                return output < candidate;
        }
        throw new InputException($"model '{name}' takes no input side up to {MaxSizeSearch}");
    }

    /// <summary>The output side for an input side, or -1 when the model cannot take it.</summary>
    static int TryOutputSize(SegmentationModel model, int inputSize)
    {
        try { return model.OutputSize(inputSize); }
        catch (ArgumentException) { return -1; }
    }
}
