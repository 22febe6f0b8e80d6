using PixelBox.Data;

namespace PixelBox.Tests.Data;

public class SegmentationAugmentationTests
{
    /// <summary>Image whose red/green encode the pixel's x/y (value = 5 * coordinate + 2), mask random labels 0..4.</summary>
    static SegmentationSample CoordinateSample(int w, int h, int seed)
    {
        var rng = new Random(seed);
        var image = new byte[w * h * 3];
        var mask = new byte[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x;
                image[3 * p] = (byte)(5 * x + 2);
                image[3 * p + 1] = (byte)(5 * y + 2);
                image[3 * p + 2] = 77;
                mask[p] = (byte)rng.Next(5);
            }
        return new SegmentationSample("coords", w, h, image, mask);
    }

    [Fact]
    public void AtScaleOneCropAndFlipMoveImageAndMaskTogether()
    {
        const int w = 40, h = 30, crop = 24;
        var s = CoordinateSample(w, h, 1);
        var aug = new SegmentationAugmentation(crop, 1, 1);
        int flips = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var o = aug.Apply(s, new Random(seed));
            Assert.Equal((crop, crop), (o.Width, o.Height));
            int left = (o.Image[0] - 2) / 5, top = (o.Image[1] - 2) / 5;
            bool flipped = o.Image[3 * 1] < o.Image[0];
            if (flipped) { flips++; left -= crop - 1; }
            Assert.InRange(left, 0, w - crop);
            Assert.InRange(top, 0, h - crop);
            for (int y = 0; y < crop; y++)
                for (int x = 0; x < crop; x++)
                {
                    int sx = left + (flipped ? crop - 1 - x : x), sy = top + y, p = y * crop + x;
                    Assert.Equal(5 * sx + 2, o.Image[3 * p]);
                    Assert.Equal(5 * sy + 2, o.Image[3 * p + 1]);
                    Assert.Equal(77, o.Image[3 * p + 2]);
                    Assert.Equal(s.Mask[sy * w + sx], o.Mask[p]);
                }
        }
        Assert.InRange(flips, 10, 30);
    }

    [Fact]
    public void SmallImagesArePaddedRightAndBottomWithBlackAndIgnore()
    {
        const int w = 10, h = 8, crop = 16;
        var s = CoordinateSample(w, h, 2);
        var aug = new SegmentationAugmentation(crop, 1, 1, hflip: true, ignoreIndex: 200);
        for (int seed = 0; seed < 6; seed++)
        {
            var o = aug.Apply(s, new Random(seed));
            bool flipped = o.Image[0] != 2;
            for (int y = 0; y < crop; y++)
                for (int x = 0; x < crop; x++)
                {
                    int p = y * crop + x;
                    if (x < w && y < h)
                    {
                        int sx = flipped ? w - 1 - x : x;
                        Assert.Equal(s.Mask[y * w + sx], o.Mask[p]);
                        Assert.Equal(5 * sx + 2, o.Image[3 * p]);
                    }
                    else
                    {
                        Assert.Equal(200, o.Mask[p]);
                        Assert.Equal([0, 0, 0], o.Image[(3 * p)..(3 * p + 3)]);
                    }
                }
        }
    }

    [Fact]
    public void ScaledMaskLabelsComeFromWhereTheImageWasSampled()
    {
        // Red/green are linear in x/y, so bilinear sampling returns the exact source position the image was
        // sampled at; the nearest-neighbour mask label must be the source label at that position (rounded).
        // Random per-pixel labels make any misalignment between image and mask show up.
        const int w = 48, h = 44, crop = 40;
        var s = CoordinateSample(w, h, 3);
        var aug = new SegmentationAugmentation(crop, 0.5, 2.0);
        int checkedPixels = 0, padded = 0;
        for (int seed = 0; seed < 30; seed++)
        {
            var o = aug.Apply(s, new Random(seed));
            for (int p = 0; p < crop * crop; p++)
            {
                if (o.Mask[p] == 255) { padded++; continue; }
                double sx = (o.Image[3 * p] - 2) / 5.0, sy = (o.Image[3 * p + 1] - 2) / 5.0; // +-0.1 from byte rounding
                // Skip centres that fall within the rounding error of a pixel boundary.
                if (Math.Abs(sx - Math.Floor(sx) - 0.5) < 0.15 || Math.Abs(sy - Math.Floor(sy) - 0.5) < 0.15) continue;
                int nx = (int)Math.Round(sx), ny = (int)Math.Round(sy);
                Assert.Equal(s.Mask[ny * w + nx], o.Mask[p]);
                checkedPixels++;
            }
        }
        Assert.True(checkedPixels > 10000, $"{checkedPixels} pixels checked");
        Assert.True(padded > 0, "scales below 1 should leave padding");
    }

    [Fact]
    public void SameRandomGivesTheSameResultAndScalesStayInRange()
    {
        var s = CoordinateSample(32, 32, 4);
        var aug = new SegmentationAugmentation(16, 0.5, 2.0);
        var a = aug.Apply(s, new Random(11));
        var b = aug.Apply(s, new Random(11));
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Mask, b.Mask);

        // Neighbouring output pixels step by 1/scale source pixels, so the red ramp's step bounds the scale.
        for (int seed = 0; seed < 50; seed++)
        {
            var o = aug.Apply(s, new Random(seed));
            if (o.Mask[8] == 255 || o.Mask[7] == 255) continue;
            double step = Math.Abs(o.Image[3 * 8] - o.Image[3 * 7]) / 5.0;
            Assert.InRange(step, 0.5 - 0.25, 2.0 + 0.25);
        }
    }
}
