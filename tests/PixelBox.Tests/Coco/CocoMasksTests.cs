using PixelBox.Coco;
using PixelBox.Masks;

namespace PixelBox.Tests.Coco;

public class CocoMasksTests
{
    /// <summary>A box result in segm evaluation is rasterised from its box: the same mask as loadRes' polygon.</summary>
    [Theory]
    [InlineData(10.3, 20.7, 33.2, 14.9)]
    [InlineData(0, 0, 64, 48)]
    [InlineData(50.5, 40.5, 30, 20)]
    [InlineData(60.2, 1.1, 0.4, 0.3)]
    public void BoxMaskEqualsLoadResPolygon(double x, double y, double w, double h)
    {
        double x2 = x + w, y2 = y + h;
        var polygon = CocoMasks.ToRle(new CocoPolygons([[x, y, x, y2, x2, y2, x2, y]]), 48, 64);
        var box = RleOps.FromBox(x, y, w, h, 48, 64);
        Assert.Equal(polygon.Counts, box.Counts);
    }

    /// <summary>pycocotools' frPyObjects reads a polygon list whose first entry has 4 numbers as boxes.</summary>
    [Fact]
    public void FourNumberPolygonsAreBoxes()
    {
        var rle = CocoMasks.ToRle(new CocoPolygons([[2, 3, 5, 4]]), 20, 20);
        Assert.Equal(RleOps.FromBox(2, 3, 5, 4, 20, 20).Counts, rle.Counts);
        Assert.Throws<ArgumentException>(() => CocoMasks.ToRle(new CocoPolygons([[1, 2]]), 20, 20));
    }
}
