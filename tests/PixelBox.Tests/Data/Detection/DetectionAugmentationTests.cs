using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PixelBox.Data;

namespace PixelBox.Tests.Data.Detection;

/// <summary>A random sample whose objects are filled rectangles or ellipses, each with its instance mask and the mask's tight box.</summary>
public sealed record ShapeSample(DetectionSample Sample)
{
    public override string ToString() =>
        $"{Sample.Width}x{Sample.Height}, boxes [{string.Join(", ", Sample.Boxes)}]";

    public static Arbitrary<ShapeSample> Arbitrary(int maxSide = 64, bool ellipses = true) =>
        (from w in Gen.Choose(8, maxSide)
         from h in Gen.Choose(8, maxSide)
         from n in Gen.Choose(0, 5)
         from seed in Gen.Choose(0, int.MaxValue)
         select new ShapeSample(Make(w, h, n, seed, ellipses))).ToArbitrary();

    public static DetectionSample Make(int w, int h, int n, int seed, bool ellipses = true)
    {
        var rng = new Random(seed);
        var image = new byte[w * h * 3];
        rng.NextBytes(image);
        var boxes = new List<float>();
        var labels = new List<int>();
        var masks = new List<byte[]>();
        for (int k = 0; k < n; k++)
        {
            int x0 = rng.Next(w - 2), y0 = rng.Next(h - 2);
            int x1 = x0 + 2 + rng.Next(w - x0 - 1), y1 = y0 + 2 + rng.Next(h - y0 - 1);
            x1 = Math.Min(x1, w); y1 = Math.Min(y1, h);
            bool ellipse = ellipses && rng.Next(2) == 0;
            var mask = new byte[w * h];
            double cx = (x0 + x1) / 2.0, cy = (y0 + y1) / 2.0, rx = (x1 - x0) / 2.0, ry = (y1 - y0) / 2.0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                {
                    double u = (x + 0.5 - cx) / rx, v = (y + 0.5 - cy) / ry;
                    if (!ellipse || u * u + v * v <= 1.0) mask[y * w + x] = 1;
                }
            var (bx0, by0, bx1, by1) = MaskBox(mask, w, h);
            boxes.AddRange([bx0, by0, bx1, by1]);
            labels.Add(rng.Next(3));
            masks.Add(mask);
        }
        return new DetectionSample($"s{seed}", w, h, image, boxes.ToArray(), labels.ToArray()) { Masks = masks.ToArray() };
    }

    /// <summary>The tight box of a mask's pixels in continuous coordinates (pixel i spans [i, i+1]).</summary>
    public static (float, float, float, float) MaskBox(byte[] mask, int w, int h)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (mask[y * w + x] != 0)
                {
                    x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                    y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
                }
        return x1 < 0 ? (float.NaN, float.NaN, float.NaN, float.NaN) : (x0, y0, x1 + 1, y1 + 1);
    }
}

public class DetectionAugmentationTests
{
    static Arbitrary<(ShapeSample[] Data, int Size, int Seed, bool Mosaic)> Cases(int maxSide = 64, int minSize = 16, bool ellipses = true) =>
        (from data in Gen.ArrayOf(ShapeSample.Arbitrary(maxSide, ellipses).Generator, 4)
         from size in Gen.Choose(minSize, 64)
         from seed in Gen.Choose(0, int.MaxValue)
         from mosaic in Gen.Elements(true, false)
         select (data, size, seed, mosaic)).ToArbitrary();

    static DetectionAugmentation Augmentation(int size, bool mosaic) => new(size)
    {
        MosaicProbability = mosaic ? 1 : 0,
        MinScale = 0.75,
        MaxScale = 1.5,
    };

    [Property(MaxTest = 300)]
    public Property BoxesStayInsideTheImageAndKeepTheirMinimumSide() => Prop.ForAll(Cases(), c =>
    {
        var aug = Augmentation(c.Size, c.Mosaic);
        var o = aug.Apply(c.Data.Select(d => d.Sample).ToArray(), 0, new Random(c.Seed));
        o.Validate();
        for (int k = 0; k < o.Count; k++)
        {
            float x0 = o.Boxes[4 * k], y0 = o.Boxes[4 * k + 1], x1 = o.Boxes[4 * k + 2], y1 = o.Boxes[4 * k + 3];
            if (!(x0 >= 0 && y0 >= 0 && x1 <= c.Size && y1 <= c.Size && x1 - x0 >= aug.MinBoxSide - 1e-4 && y1 - y0 >= aug.MinBoxSide - 1e-4))
                return false.Label($"box {k}: [{x0}, {y0}, {x1}, {y1}] on {c.Size}x{c.Size}");
        }
        return (o.Width == c.Size && o.Height == c.Size).Label("size");
    });

    /// <summary>
    /// An instance mask and its box go through the same maps: the transformed mask's tight box is the transformed box
    /// within a pixel. For any shape kept whole (MinVisibility 1) when images are enlarged (sources up to 32 px, outputs
    /// from 48 px, scales from 0.75: every factor is at least 1.125); for solid rectangles at any scale and any
    /// clipping. (A shrunk ellipse's one-pixel tips can fall between the output's sample points; and a box clipped by
    /// the crop is the box of the box, not of the object's visible part: see the next property.)
    /// </summary>
    [Property(MaxTest = 300)]
    public Property MasksAndBoxesTransformedTogetherAgree() => MasksAgree(Cases(maxSide: 32, minSize: 48), minVisibility: 1, exact: true);

    [Property(MaxTest = 300)]
    public Property RectangleMasksAndBoxesAgreeAtAnyScale() => MasksAgree(Cases(ellipses: false), minVisibility: 0.25, exact: true);

    /// <summary>Whatever the scale and clipping, an object's mask stays inside its box (within a pixel).</summary>
    [Property(MaxTest = 300)]
    public Property ClippedMasksStayInsideTheirBoxes() => MasksAgree(Cases(), minVisibility: 0.25, exact: false);

    static Property MasksAgree(Arbitrary<(ShapeSample[] Data, int Size, int Seed, bool Mosaic)> cases, double minVisibility, bool exact) => Prop.ForAll(cases, c =>
    {
        var aug = new DetectionAugmentation(c.Size) { MosaicProbability = c.Mosaic ? 1 : 0, MinScale = 0.75, MaxScale = 1.5, MinVisibility = minVisibility };
        var o = aug.Apply(c.Data.Select(d => d.Sample).ToArray(), 0, new Random(c.Seed));
        for (int k = 0; k < o.Count; k++)
        {
            var (mx0, my0, mx1, my1) = ShapeSample.MaskBox(o.Masks![k], o.Width, o.Height);
            float[] box = o.Boxes[(4 * k)..(4 * k + 4)];
            if (float.IsNaN(mx0))
                return false.Label($"object {k}: box [{string.Join(", ", box)}] but an empty mask");
            bool ok = exact
                ? Math.Abs(mx0 - box[0]) <= 1 && Math.Abs(my0 - box[1]) <= 1 && Math.Abs(mx1 - box[2]) <= 1 && Math.Abs(my1 - box[3]) <= 1
                : mx0 >= box[0] - 1 && my0 >= box[1] - 1 && mx1 <= box[2] + 1 && my1 <= box[3] + 1;
            if (!ok)
                return false.Label($"object {k}: box [{string.Join(", ", box)}], mask box [{mx0}, {my0}, {mx1}, {my1}]");
        }
        return true.ToProperty();
    });

    [Property(MaxTest = 200)]
    public Property LetterboxMapsBoxesThereAndBack() => Prop.ForAll(ShapeSample.Arbitrary(), Gen.Choose(8, 96).ToArbitrary(), (s, size) =>
    {
        var sample = s.Sample;
        var lb = LetterboxTransform.For(sample.Width, sample.Height, size);
        var o = lb.Apply(sample);
        var back = lb.ToSource(o.Boxes);
        bool inverse = sample.Boxes.Zip(back).All(p => Math.Abs(p.First - p.Second) < 1e-3);
        bool forward = o.Boxes.SequenceEqual(lb.ToLetterbox(sample.Boxes));
        bool fits = lb.ScaledWidth <= size && lb.ScaledHeight <= size && (lb.ScaledWidth == size || lb.ScaledHeight == size)
                    && lb.PadX >= 0 && lb.PadY >= 0 && o.Count == sample.Count;
        return (inverse && forward && fits).Label($"{lb}: {string.Join(",", sample.Boxes)} -> {string.Join(",", o.Boxes)} -> {string.Join(",", back)}");
    });

    [Fact]
    public void LetterboxPadsEvenlyWithGreyAndKeepsTheAspect()
    {
        var s = ShapeSample.Make(40, 20, 1, 3);
        var lb = LetterboxTransform.For(40, 20, 32);
        Assert.Equal((32, 16, 0, 8), (lb.ScaledWidth, lb.ScaledHeight, lb.PadX, lb.PadY));
        var o = lb.Apply(s);
        Assert.All(o.Image[..(32 * 8 * 3)], b => Assert.Equal(DetectionAugmentation.DefaultFill, b));
        Assert.All(o.Image[(32 * 24 * 3)..], b => Assert.Equal(DetectionAugmentation.DefaultFill, b));
        Assert.Equal([10f, 0f, 30f, 20f], lb.ToSource([8f, 8f, 24f, 24f]));
    }

    [Fact]
    public void FlipAloneMirrorsPixelsAndBoxesExactly()
    {
        var s = ShapeSample.Make(24, 24, 3, 11);
        var aug = new DetectionAugmentation(24) { MosaicProbability = 0, MinScale = 1, MaxScale = 1, FlipProbability = 1, Colour = ColourJitter.None, MinVisibility = 0, MinBoxSide = 0 };
        var o = aug.Apply([s], 0, new Random(1));
        for (int y = 0; y < 24; y++)
            for (int x = 0; x < 24; x++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(s.Image[(y * 24 + 23 - x) * 3 + c], o.Image[(y * 24 + x) * 3 + c]);
        for (int k = 0; k < s.Count; k++)
            Assert.Equal([24 - s.Boxes[4 * k + 2], s.Boxes[4 * k + 1], 24 - s.Boxes[4 * k], s.Boxes[4 * k + 3]], o.Boxes[(4 * k)..(4 * k + 4)]);
    }

    [Fact]
    public void MinimumVisibilityDropsMostlyHiddenBoxes()
    {
        // a 20x20 image placed at scale 1 into an 8x8 crop: a box at the far corner is mostly cut away
        var image = new byte[20 * 20 * 3];
        var s = new DetectionSample("v", 20, 20, image, [0, 0, 10, 10, 5, 5, 15, 15], [0, 1]);
        var placement = new Placement(s, new AxisMap(1, -8), new AxisMap(1, -8), 0, 0, 8, 8);
        var strict = DetectionGeometry.Render("v", 8, 8, [placement], 0, 0.25, 0);
        Assert.Equal([1], strict.Labels);              // box 1 keeps 7x7 of 10x10 = 49%
        Assert.Equal([0f, 0f, 7f, 7f], strict.Boxes);
        var loose = DetectionGeometry.Render("v", 8, 8, [placement], 0, 0.01, 0);
        Assert.Equal([0, 1], loose.Labels);            // box 0 keeps 2x2 of 10x10 = 4%
        Assert.Equal([0f, 0f, 2f, 2f, 0f, 0f, 7f, 7f], loose.Boxes);
    }

    [Fact]
    public void SameRandomGivesTheSameSampleAndMosaicUsesFourImages()
    {
        var data = Enumerable.Range(0, 6).Select(i => ShapeSample.Make(30 + i, 20 + 2 * i, 3, i)).ToArray();
        var aug = new DetectionAugmentation(48);
        var a = aug.Apply(data, 2, new Random(5));
        var b = aug.Apply(data, 2, new Random(5));
        Assert.Equal(a.Image, b.Image);
        Assert.Equal(a.Boxes, b.Boxes);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Image, aug.Apply(data, 2, new Random(6)).Image);
    }

    [Property(MaxTest = 100)]
    public Property ColourJitterKeepsGreysGrey() => Prop.ForAll(Gen.Choose(0, 255).ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (v, seed) =>
    {
        var rgb = new byte[] { (byte)v, (byte)v, (byte)v, 10, 200, 30 };
        new ColourJitter().Apply(rgb, new Random(seed));
        return rgb[0] == rgb[1] && rgb[1] == rgb[2];
    });

    [Fact]
    public void ColourJitterWithoutGainsIsTheIdentityAndDrawsNothing()
    {
        var rgb = Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray();
        var copy = (byte[])rgb.Clone();
        var rng = new Random(3);
        ColourJitter.None.Apply(rgb, rng);
        Assert.Equal(copy, rgb);
        Assert.Equal(new Random(3).Next(), rng.Next());
        new ColourJitter(0.5, 0, 0).Apply(rgb, new Random(1)); // a hue shift alone keeps each pixel's max and min
        for (int p = 0; p < rgb.Length; p += 3)
        {
            Assert.InRange(rgb[p..(p + 3)].Max() - copy[p..(p + 3)].Max(), -1, 1);
            Assert.InRange(rgb[p..(p + 3)].Min() - copy[p..(p + 3)].Min(), -1, 1);
        }
    }
}
