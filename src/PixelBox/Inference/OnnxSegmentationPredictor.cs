using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Models;
using PixelBox.Onnx;
using PixelBox.Training;

namespace PixelBox.Inference;

/// <summary>
/// Predicts with an exported segmentation model (<c>pixelbox export onnx</c>) in ONNX Runtime, without libtorch:
/// decoding, normalisation, padding, tiling and the arg-max are plain C#. It feeds the network as
/// <see cref="SegmentationPredictor"/> does, so masks equal the checkpoint's (to float tolerance): a model whose
/// output is its input size gets each side replicate-padded up to the next side it accepts (a static-size export:
/// up to its one size) and the labels cropped back; a model whose output is smaller (the paper's U-Net) predicts
/// by overlap-tiling with mirror padding.
/// </summary>
public sealed class OnnxSegmentationPredictor : ISegmentationPredictor
{
    /// <summary>Largest tile output of overlap-tiling, as <see cref="SegmentationPredictor"/>'s.</summary>
    const int MaxTileOutput = 388;

    readonly OnnxRuntimeSession session;

    OnnxSegmentationPredictor(OnnxRuntimeSession session, OnnxModelDescription description, SegmentationModelInfo info)
    {
        this.session = session;
        Description = description;
        Info = info;
    }

    public SegmentationModelInfo Info { get; }

    public OnnxModelDescription Description { get; }

    /// <param name="path">An ONNX file written by <c>pixelbox export onnx</c> (or <c>quantize</c>).</param>
    /// <param name="threads">ONNX Runtime intra-op threads (0: one per core).</param>
    public static OnnxSegmentationPredictor Load(string path, int threads = 0) => FromSession(OnnxRuntimeSession.Open(path, threads));

    /// <summary>A predictor on an open session of such a model (one that observes extra outputs: calibration); it owns the session.</summary>
    public static OnnxSegmentationPredictor FromSession(OnnxRuntimeSession session)
    {
        try
        {
            var description = OnnxModelDescription.FromMetadata(session.Metadata, session.Path);
            var info = description.Segmentation(session.Path);
            return new OnnxSegmentationPredictor(session, description, info);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public IndexMask Predict(RgbImage image)
    {
        if (Info.InChannels != 3)
            throw new InvalidOperationException($"the model takes {Info.InChannels} input channels, not RGB");
        var logits = PredictLogits(Info.Normalization.ToChw(image.Pixels, image.Width, image.Height), image.Height, image.Width);
        return new IndexMask(image.Width, image.Height, ArgMax(logits, Info.NumClasses, image.Width * image.Height));
    }

    /// <summary>Logits [classes, H, W] (row-major) of a normalised image [channels, H, W] at its own size.</summary>
    public float[] PredictLogits(float[] image, int height, int width)
    {
        if (image.Length != (long)Info.InChannels * height * width)
            throw new ArgumentException($"{image.Length} values do not hold a {Info.InChannels}x{height}x{width} image");
        return Description.SizeRule.Shrink > 0 ? Tiled(image, height, width) : Padded(image, height, width);
    }

    /// <inheritdoc cref="ISegmentationPredictor.PredictLogits(RgbImage)"/>
    public float[] PredictLogits(RgbImage image)
    {
        if (Info.InChannels != 3)
            throw new InvalidOperationException($"the model takes {Info.InChannels} input channels, not RGB");
        return PredictLogits(Info.Normalization.ToChw(image.Pixels, image.Width, image.Height), image.Height, image.Width);
    }

    /// <inheritdoc cref="ISegmentationPredictor.PredictLogits(float[], int, int, int)"/>
    public float[] PredictLogits(float[] images, int count, int height, int width)
    {
        int input = Info.InChannels * height * width, output = Info.NumClasses * height * width;
        if (images.Length != (long)count * input)
            throw new ArgumentException($"{images.Length} values do not hold {count} images of {Info.InChannels}x{height}x{width}");
        if (count == 1)
            return PredictLogits(images, height, width);
        var logits = new float[(long)count * output];
        for (int i = 0; i < count; i++)
            PredictLogits(images.AsSpan(i * input, input).ToArray(), height, width).CopyTo(logits, (long)i * output);
        return logits;
    }

    /// <inheritdoc cref="ISegmentationPredictor.AcceptedSide"/>
    public int AcceptedSide(int side) =>
        Description.SizeRule.Shrink > 0 ? side : Math.Max(PaddedSide(side, Description.Height), PaddedSide(side, Description.Width));

    /// <inheritdoc cref="ISegmentationPredictor.PredictFile"/>
    public PredictedImage PredictFile(string imagePath, string outDir, bool saveLogits = false) =>
        ISegmentationPredictor.PredictFile(this, imagePath, outDir, saveLogits);

    public void Dispose() => session.Dispose();

    float[] Padded(float[] image, int height, int width)
    {
        int paddedH = PaddedSide(height, Description.Height), paddedW = PaddedSide(width, Description.Width);
        var input = paddedH == height && paddedW == width ? image : Pad(image, Info.InChannels, height, width, Clamped(paddedH, height), Clamped(paddedW, width));
        var output = Run(input, paddedH, paddedW);
        return Window(output.Values, Info.NumClasses, paddedH, paddedW, 0, 0, height, width);

        static long[] Clamped(int padded, int size) => [.. Enumerable.Range(0, padded).Select(i => (long)Math.Min(i, size - 1))];
    }

    /// <summary>The side fed to the network for an image side: the next accepted side (dynamic), or the fixed one.</summary>
    int PaddedSide(int side, int staticSide)
    {
        if (Description.DynamicSize)
            return Description.SizeRule.AtLeast(side);
        if (side > staticSide)
            throw new InputException(session.Path,
                $"the model was exported for a fixed {Description.Height}x{Description.Width} input and cannot take an image side of {side}; " +
                "export it with --dynamic-size or a larger --input-size");
        return staticSide;
    }

    /// <summary>Overlap-tiling as <see cref="OverlapTilePredictor"/>: mirror padding, tiles on the model's size grid, exact stitching.</summary>
    float[] Tiled(float[] image, int height, int width)
    {
        var rule = Description.SizeRule;
        int tileH, tileW;
        if (Description.DynamicSize)
        {
            int wanted = Math.Min(Math.Max(height, width), MaxTileOutput);
            tileH = tileW = rule.AtLeast(wanted + rule.Shrink);
        }
        else
            (tileH, tileW) = (Description.Height, Description.Width);
        var rows = Axis.For(height, tileH, rule);
        var cols = Axis.For(width, tileW, rule);
        int margin = rule.Shrink / 2;
        int channels = Info.InChannels, classes = Info.NumClasses;
        var padded = Pad(image, channels, height, width,
            OverlapTilePredictor.MirrorIndexArray(height, margin, rows.Cover - height + margin),
            OverlapTilePredictor.MirrorIndexArray(width, margin, cols.Cover - width + margin));
        int paddedH = rows.Cover + 2 * margin, paddedW = cols.Cover + 2 * margin;
        var result = new float[(long)classes * rows.Cover * cols.Cover];
        for (int r = 0; r < rows.Count; r++)
        {
            for (int c = 0; c < cols.Count; c++)
            {
                int y = r * rows.Stride, x = c * cols.Stride;
                var tile = Window(padded, channels, paddedH, paddedW, y, x, tileH, tileW);
                var output = Run(tile, tileH, tileW).Values;
                for (int k = 0; k < classes; k++)
                    for (int i = 0; i < rows.TileOutput; i++)
                        output.AsSpan((k * rows.TileOutput + i) * cols.TileOutput, cols.TileOutput)
                            .CopyTo(result.AsSpan((int)(((long)k * rows.Cover + y + i) * cols.Cover + x)));
            }
        }
        return Window(result, classes, rows.Cover, cols.Cover, 0, 0, height, width);
    }

    /// <summary>Tiles along one side: tile output, stride (a multiple of the size step), count and the side they cover.</summary>
    readonly record struct Axis(int TileOutput, int Stride, int Count, int Cover)
    {
        public static Axis For(int side, int tile, InputSizeRule rule)
        {
            int output = tile - rule.Shrink;
            int stride = output / rule.Step * rule.Step;
            if (output < 1 || stride == 0)
                throw new InvalidOperationException($"tile {tile} gives no usable output (shrink {rule.Shrink}, step {rule.Step})");
            int count = side <= output ? 1 : (side - output + stride - 1) / stride + 1;
            return new Axis(output, stride, count, (count - 1) * stride + output);
        }
    }

    RawOutput Run(float[] input, int height, int width)
    {
        var outputs = session.Run(input, [1, Info.InChannels, height, width]);
        var logits = outputs[0];
        if (logits.Shape.Length != 4 || logits.Shape[1] != Info.NumClasses)
            throw new InputException(session.Path, $"the model's output is [{string.Join(", ", logits.Shape)}], not [1, {Info.NumClasses}, H, W]");
        return logits;
    }

    /// <summary>Planes [C, H, W] gathered through row and column source indices (padding by index maps).</summary>
    static float[] Pad(float[] planes, int channels, int height, int width, long[] rows, long[] cols)
    {
        var result = new float[(long)channels * rows.Length * cols.Length];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < rows.Length; i++)
            {
                var source = planes.AsSpan((int)(((long)c * height + rows[i]) * width), width);
                var target = result.AsSpan((int)(((long)c * rows.Length + i) * cols.Length), cols.Length);
                for (int j = 0; j < cols.Length; j++)
                    target[j] = source[(int)cols[j]];
            }
        return result;
    }

    /// <summary>The window [C, h, w] at (top, left) of planes [C, H, W].</summary>
    static float[] Window(float[] planes, int channels, int height, int width, int top, int left, int h, int w)
    {
        if (top == 0 && left == 0 && h == height && w == width)
            return planes;
        var result = new float[(long)channels * h * w];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                planes.AsSpan((int)(((long)c * height + top + i) * width + left), w).CopyTo(result.AsSpan((int)(((long)c * h + i) * w), w));
        return result;
    }

    /// <summary>The class of the largest logit per pixel (the first on ties, as torch.argmax).</summary>
    public static byte[] ArgMax(float[] logits, int classes, int pixels)
    {
        if (classes > 256)
            throw new NotSupportedException($"index masks hold up to 256 classes, the model has {classes}");
        var best = logits.AsSpan(0, pixels).ToArray();
        var labels = new byte[pixels];
        for (int k = 1; k < classes; k++)
        {
            var plane = logits.AsSpan(k * pixels, pixels);
            for (int i = 0; i < pixels; i++)
            {
                if (plane[i] > best[i])
                {
                    best[i] = plane[i];
                    labels[i] = (byte)k;
                }
            }
        }
        return labels;
    }
}
