using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PixelBox.Data;

namespace PixelBox.Tests.Data.Detection;

/// <summary>
/// Each writer picks the text of a box so that its reader's arithmetic gives back the very same float32 corners:
/// checked here on random boxes over the whole float range that matters (sub-pixel to 20,000-pixel images,
/// coordinates from 1e-3 px to the image side, off-grid floats).
/// </summary>
public class BoxTextExactnessTests
{
    static Gen<float> Coordinate(int side) => Gen.OneOf(
        Gen.Choose(0, side).Select(v => (float)v),
        Gen.Choose(0, 4 * side).Select(v => v / 4f),
        Gen.Choose(0, int.MaxValue).Select(v => (float)((double)v / int.MaxValue * side)),
        Gen.Choose(1, 1000).Select(v => v * 1e-3f));

    static Arbitrary<(int Side, float Lo, float Hi)> Intervals() =>
        (from side in Gen.OneOf(Gen.Choose(1, 64), Gen.Choose(65, 20000))
         from a in Coordinate(side)
         from b in Coordinate(side)
         where a != b
         select (side, Math.Min(a, b), Math.Max(a, b))).ToArbitrary();

    [Property(MaxTest = 20000)]
    public Property YoloNormalisedTextReadsBackExactly() => Prop.ForAll(Intervals(), t =>
    {
        var (centre, size) = YoloDetectionFormat.CentreAndSize(t.Lo, t.Hi, t.Side);
        double c = double.Parse(centre, System.Globalization.CultureInfo.InvariantCulture), s = double.Parse(size, System.Globalization.CultureInfo.InvariantCulture);
        return (float)((c - s / 2) * t.Side) == t.Lo && (float)((c + s / 2) * t.Side) == t.Hi;
    });

    [Property(MaxTest = 20000)]
    public Property CocoXywhTextReadsBackExactly() => Prop.ForAll(Intervals(), t =>
    {
        var (start, length) = CocoDetectionFormat.Interval(t.Lo, t.Hi);
        double x = double.Parse(start, System.Globalization.CultureInfo.InvariantCulture), w = double.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
        return (float)x == t.Lo && (float)(x + w) == t.Hi && w >= 0;
    });

    [Property(MaxTest = 20000)]
    public Property VocOneBasedTextReadsBackExactly() => Prop.ForAll(Intervals(), t =>
    {
        double xmin = double.Parse(VocDetectionFormat.OneBased(t.Lo), System.Globalization.CultureInfo.InvariantCulture);
        double xmax = double.Parse(VocDetectionFormat.Plain(t.Hi), System.Globalization.CultureInfo.InvariantCulture);
        return (float)(xmin - 1) == t.Lo && (float)xmax == t.Hi;
    });

    [Fact]
    public void CommonBoxesGetShortText()
    {
        Assert.Equal(("0.5", "1"), YoloDetectionFormat.CentreAndSize(0, 640, 640));
        Assert.Equal(("0.25", "0.05"), YoloDetectionFormat.CentreAndSize(144, 176, 640));
        Assert.Equal(("0.1", "0.3"), CocoDetectionFormat.Interval(0.1f, 0.4f));
        Assert.Equal(("12", "30"), CocoDetectionFormat.Interval(12, 42));
        Assert.Equal("1", VocDetectionFormat.OneBased(0));
        Assert.Equal("49.5", VocDetectionFormat.OneBased(48.5f));
    }
}
