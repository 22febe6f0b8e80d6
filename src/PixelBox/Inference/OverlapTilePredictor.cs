using PixelBox.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Inference;

/// <summary>
/// Overlap-tile prediction (Ronneberger et al. 2015, Fig. 2) for a model whose output is smaller than its
/// input, such as the valid U-Net: the image is mirror-padded by the margin (input - output) / 2, cut
/// into tiles whose outputs cover it, run in batches, and the tile outputs are stitched into logits of
/// exactly the image size. Any image size works (the far sides are padded further and cropped back).
/// </summary>
/// <remarks>
/// Tiles start at multiples of the model's size period (the step between valid input sizes; 16 for a
/// five-level U-Net), so every tile sees the same pooling grid as one pass over the whole padded image
/// and the stitched result equals that pass; where the tile output is not a multiple of the period,
/// neighbouring tiles overlap by a few pixels.
/// </remarks>
public sealed class OverlapTilePredictor
{
    readonly SegmentationModel model;

    /// <param name="tileSize">Tile side fed to the model; must be a valid input size of it.</param>
    /// <param name="batchSize">Tiles per forward pass.</param>
    public OverlapTilePredictor(SegmentationModel model, int tileSize, int batchSize = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        this.model = model;
        TileSize = tileSize;
        BatchSize = batchSize;
        TileOutputSize = model.OutputSize(tileSize);
        if ((tileSize - TileOutputSize) % 2 != 0 || TileOutputSize > tileSize)
            throw new ArgumentException($"the model maps {tileSize} to {TileOutputSize}: no symmetric margin", nameof(tileSize));
        Margin = (tileSize - TileOutputSize) / 2;
        var period = SizePeriod(model, tileSize);
        if (model.OutputSize(tileSize + period) != TileOutputSize + period)
            throw new ArgumentException("the model's output does not grow one to one with its input", nameof(model));
        Stride = TileOutputSize / period * period;
        if (Stride == 0)
            throw new ArgumentException(
                $"tile output {TileOutputSize} is smaller than the model's size period {period}; use a larger tile", nameof(tileSize));
    }

    public int TileSize { get; }

    public int TileOutputSize { get; }

    /// <summary>Context each output pixel needs on every side: (tile size - tile output size) / 2.</summary>
    public int Margin { get; }

    /// <summary>Distance between tile origins: the largest multiple of the size period within the tile output.</summary>
    public int Stride { get; }

    public int BatchSize { get; }

    /// <summary>Logits for an image [C, H, W] -> [K, H, W], or a batch [N, C, H, W] -> [N, K, H, W],
    /// on the image's device. Runs the model in eval mode without gradients (its mode is restored).</summary>
    public Tensor Predict(Tensor image)
    {
        if (image.dim() == 4)
        {
            using var scope = NewDisposeScope();
            var outputs = Enumerable.Range(0, (int)image.shape[0]).Select(i => Predict(image[i])).ToList();
            return stack(outputs).MoveToOuterDisposeScope();
        }
        if (image.dim() != 3 || image.shape[0] != model.InChannels)
            throw new ArgumentException(
                $"expected an image [{model.InChannels}, H, W] or a batch of them, got [{string.Join(", ", image.shape)}]", nameof(image));

        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            return PredictOne(image);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    Tensor PredictOne(Tensor image)
    {
        var (height, width) = ((int)image.shape[1], (int)image.shape[2]);
        var (rows, cols) = (TileCount(height), TileCount(width));
        var (coverH, coverW) = ((rows - 1) * Stride + TileOutputSize, (cols - 1) * Stride + TileOutputSize);
        var device = model.parameters().First().device;

        using var scope = NewDisposeScope();
        var padded = image.to(device)
            .index_select(1, MirrorIndices(height, Margin, coverH - height + Margin, device))
            .index_select(2, MirrorIndices(width, Margin, coverW - width + Margin, device));
        var result = empty(model.NumClasses, coverH, coverW, device: image.device);
        var origins = (from r in Enumerable.Range(0, rows) from c in Enumerable.Range(0, cols) select (Y: r * Stride, X: c * Stride)).ToList();
        foreach (var batch in origins.Chunk(BatchSize))
        {
            using var batchScope = NewDisposeScope();
            var tiles = stack(batch.Select(o => padded.narrow(1, o.Y, TileSize).narrow(2, o.X, TileSize)).ToList());
            var logits = model.call(tiles).to(image.device);
            for (var i = 0; i < batch.Length; i++)
                result.narrow(1, batch[i].Y, TileOutputSize).narrow(2, batch[i].X, TileOutputSize).copy_(logits[i]);
        }
        return result.narrow(1, 0, height).narrow(2, 0, width).contiguous().MoveToOuterDisposeScope();
    }

    int TileCount(int side) => side <= TileOutputSize ? 1 : (side - TileOutputSize + Stride - 1) / Stride + 1;

    /// <summary>Source indices of a side of <paramref name="size"/> pixels extended by mirroring (without
    /// repeating the edge pixel, reflecting again as often as needed): <paramref name="before"/> indices
    /// before it, then 0..size-1, then <paramref name="after"/> more.</summary>
    public static Tensor MirrorIndices(int size, int before, int after, Device? device = null) =>
        tensor(MirrorIndexArray(size, before, after), device: device);

    /// <summary>The indices of <see cref="MirrorIndices"/> as a plain array (for runtimes other than libtorch).</summary>
    public static long[] MirrorIndexArray(int size, int before, int after)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        var period = 2 * (size - 1);
        var indices = new long[before + size + after];
        for (var i = 0; i < indices.Length; i++)
        {
            if (period == 0)
                continue; // a single pixel mirrors onto itself
            var j = ((i - before) % period + period) % period;
            indices[i] = j < size ? j : period - j;
        }
        return indices;
    }

    /// <summary>The smallest step from one valid input size of the model to the next.</summary>
    static int SizePeriod(SegmentationModel model, int validSize)
    {
        for (var step = 1; step <= validSize; step++)
        {
            try
            {
                model.OutputSize(validSize + step);
                return step;
            }
            catch (ArgumentException)
            {
                // not a valid size; try the next
            }
        }
        throw new ArgumentException($"no valid input size found above {validSize}", nameof(model));
    }
}
