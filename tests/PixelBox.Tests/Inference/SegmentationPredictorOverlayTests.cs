using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Visualization;

namespace PixelBox.Tests.Inference;

public class SegmentationPredictorOverlayTests
{
    [Fact]
    public void Blend_mixes_labelled_pixels_with_their_palette_colour_and_leaves_background_and_ignore()
    {
        // 4 pixels: background, class 1, class 2, ignore.
        var image = new RgbImage(4, 1, [10, 20, 30, 100, 100, 100, 200, 0, 50, 7, 8, 9]);
        var mask = new IndexMask(4, 1, [0, 1, 2, 255]);
        byte[] palette = [0, 0, 0, 255, 0, 0, 0, 255, 0];
        var blended = SegmentationOverlay.Blend(image, mask, 0.5, palette);
        // Hand values: round((pixel + colour) / 2).
        Assert.Equal(new byte[] { 10, 20, 30, 178, 50, 50, 100, 128, 25, 7, 8, 9 }, blended.Pixels);
        Assert.Equal(new byte[] { 10, 20, 30, 100, 100, 100, 200, 0, 50, 7, 8, 9 }, image.Pixels); // input untouched
    }

    [Fact]
    public void Blend_with_alpha_one_paints_the_colour()
    {
        var image = new RgbImage(1, 1, [1, 2, 3]);
        var blended = SegmentationOverlay.Blend(image, new IndexMask(1, 1, [1]), 1.0);
        Assert.Equal(IndexMaskPng.VocPalette[3..6], blended.Pixels);
    }

    [Fact]
    public void Side_by_side_puts_rows_next_to_each_other()
    {
        var left = new RgbImage(1, 2, [1, 1, 1, 2, 2, 2]);
        var right = new RgbImage(2, 2, [3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]);
        var both = SegmentationOverlay.SideBySide(left, right);
        Assert.Equal((3, 2), (both.Width, both.Height));
        Assert.Equal(new byte[] { 1, 1, 1, 3, 3, 3, 4, 4, 4, 2, 2, 2, 5, 5, 5, 6, 6, 6 }, both.Pixels);
    }

    [Fact]
    public void Enlarge_repeats_every_pixel_in_a_factor_by_factor_block()
    {
        var image = new RgbImage(2, 1, [1, 2, 3, 4, 5, 6]);
        var big = SegmentationOverlay.Enlarge(image, 2);
        Assert.Equal((4, 2), (big.Width, big.Height));
        byte[] row = [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6];
        Assert.Equal([.. row, .. row], big.Pixels);
        Assert.Same(image, SegmentationOverlay.Enlarge(image, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => SegmentationOverlay.Enlarge(image, 0));
    }

    [Fact]
    public void Mismatched_sizes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() =>
            SegmentationOverlay.Blend(new RgbImage(2, 1, new byte[6]), new IndexMask(1, 1, [0])));
        Assert.Throws<ArgumentException>(() =>
            SegmentationOverlay.SideBySide(new RgbImage(1, 1, new byte[3]), new RgbImage(1, 2, new byte[6])));
    }
}
