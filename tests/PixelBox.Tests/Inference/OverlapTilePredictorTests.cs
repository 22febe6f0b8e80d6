using PixelBox.Inference;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Inference;

public class OverlapTilePredictorTests
{
    /// <summary>Independent mirror padding with torch's reflect pad, one side at a time; every step but
    /// the last pads by a multiple of (size - 1), so repeated reflections continue the same mirror image.</summary>
    static Tensor ReflectPad(Tensor image, int top, int bottom, int left, int right)
    {
        var x = image.unsqueeze(0);
        foreach (var (side, total) in new[] { (0, left), (1, right), (2, top), (3, bottom) })
        {
            for (var remaining = total; remaining > 0;)
            {
                var size = (int)(side < 2 ? x.shape[3] : x.shape[2]);
                var step = Math.Min(remaining, size - 1);
                var pads = new long[4];
                pads[side] = step;
                x = nn.functional.pad(x, pads, PaddingModes.Reflect);
                remaining -= step;
            }
        }
        return x.squeeze(0);
    }

    static void AssertTiledEqualsWholeImage(UNet model, int tileSize, int height, int width, int expectedStride, int batchSize = 3)
    {
        model.eval();
        var predictor = new OverlapTilePredictor(model, tileSize, batchSize);
        Assert.Equal(expectedStride, predictor.Stride);
        using var scope = NewDisposeScope();
        var image = randn(model.InChannels, height, width, generator: new Generator(7));
        var tiled = predictor.Predict(image);
        Assert.Equal(new long[] { model.NumClasses, height, width }, tiled.shape);

        // Whole-image pass over the same mirror-padded canvas the tiles cover.
        var m = predictor.Margin;
        int Cover(int side) => side <= predictor.TileOutputSize ? predictor.TileOutputSize
            : ((side - predictor.TileOutputSize + predictor.Stride - 1) / predictor.Stride) * predictor.Stride + predictor.TileOutputSize;
        var canvas = ReflectPad(image, m, Cover(height) - height + m, m, Cover(width) - width + m);
        using var noGrad = no_grad();
        var whole = model.call(canvas.unsqueeze(0))[0].narrow(1, 0, height).narrow(2, 0, width);
        var maxDiff = (tiled - whole).abs().max().item<float>();
        var scale = whole.abs().max().item<float>();
        Assert.True(scale > 0);
        Assert.True(maxDiff <= 1e-5f * Math.Max(1f, scale), $"max |tiled - whole| = {maxDiff} (scale {scale})");
    }

    [Fact]
    public void TiledPredictionEqualsTheWholeImagePassForAThreeLevelUNet()
    {
        // depth 3: tile 60 -> 20, margin 20, size period 4, so tiles step by their full output
        using var model = UNet.Valid(numClasses: 3, inChannels: 2, baseWidth: 4, depth: 3);
        AssertTiledEqualsWholeImage(model, tileSize: 60, height: 50, width: 70, expectedStride: 20);
    }

    [Fact]
    public void TiledPredictionEqualsTheWholeImagePassForAFiveLevelUNetWithAMarginLargerThanTheImage()
    {
        // paper depth: tile 220 -> 36, margin 92 (> the 45-pixel image: mirrored repeatedly),
        // period 16, so tiles step by 32 and overlap by 4 output pixels
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 5);
        AssertTiledEqualsWholeImage(model, tileSize: 220, height: 45, width: 80, expectedStride: 32);
    }

    [Fact]
    public void BatchOfImagesGivesTheSameAsOneByOne()
    {
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 3);
        var predictor = new OverlapTilePredictor(model, tileSize: 44, batchSize: 2);
        using var images = rand(2, 1, 30, 17);
        using var batch = predictor.Predict(images);
        using var first = predictor.Predict(images[0]);
        using var second = predictor.Predict(images[1]);
        Assert.Equal(new long[] { 2, 2, 30, 17 }, batch.shape);
        Assert.True(batch[0].allclose(first, rtol: 0, atol: 1e-6));
        Assert.True(batch[1].allclose(second, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void ModelModeIsRestored()
    {
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 3);
        model.train();
        using var logits = new OverlapTilePredictor(model, 44).Predict(zeros(1, 8, 8));
        Assert.True(model.training);
    }

    [Fact]
    public void MirrorIndicesReflectWithoutRepeatingTheEdge()
    {
        using var idx = OverlapTilePredictor.MirrorIndices(4, 5, 6);
        Assert.Equal(new long[] { 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2, 3 }, idx.data<long>().ToArray());
        using var single = OverlapTilePredictor.MirrorIndices(1, 2, 1);
        Assert.Equal(new long[] { 0, 0, 0, 0 }, single.data<long>().ToArray());
    }

    [Fact]
    public void InvalidTileSizesAreRejected()
    {
        using var model = UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 2, depth: 5);
        Assert.Throws<ArgumentException>(() => new OverlapTilePredictor(model, 221));
        using var image = zeros(3, 10, 10);
        Assert.Throws<ArgumentException>(() => new OverlapTilePredictor(model, 188).Predict(image));
    }
}
