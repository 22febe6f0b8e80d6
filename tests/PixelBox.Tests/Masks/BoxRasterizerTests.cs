using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>
/// The box fast path (PolygonRasterizer.RasterizeBox) against the general polygon walk on the same
/// polygon [x,y, x,ye, xe,ye, xe,y]: run lengths must be identical for every box the fast path takes,
/// including fractional corners near the rounding points, boxes partly or wholly outside the image and
/// zero-size images; the boxes it declines (negative or degenerate) go through the walk via FromBox.
/// </summary>
public class BoxRasterizerTests
{
    static Rle General(double x, double y, double w, double h, int height, int width) =>
        PolygonRasterizer.Rasterize([x, y, x, y + h, x + w, y + h, x + w, y], height, width);

    static void AssertSame(double x, double y, double w, double h, int height, int width, ref int fast)
    {
        var expected = General(x, y, w, h, height, width);
        var box = PolygonRasterizer.RasterizeBox(x, y, x + w, y + h, height, width);
        if (box is not null)
        {
            fast++;
            Assert.True(expected.Counts.AsSpan().SequenceEqual(box.Counts),
                $"box [{x}, {y}, {w}, {h}] on {height}x{width}: [{string.Join(",", box.Counts)}] vs walk [{string.Join(",", expected.Counts)}]");
        }
        var viaApi = RleOps.FromBox(x, y, w, h, height, width);
        Assert.True(expected.Counts.AsSpan().SequenceEqual(viaApi.Counts), $"FromBox [{x}, {y}, {w}, {h}] on {height}x{width}");
    }

    [Fact]
    public void Random_boxes_give_the_walks_runs()
    {
        var random = new Random(20261125);
        int fast = 0, cases = 0;
        for (int i = 0; i < 20000; i++)
        {
            int height = random.Next(0, 40), width = random.Next(0, 40);
            double x, y, w, h;
            switch (i % 4)
            {
                case 0: // any fractional box, often beyond the image on some side
                    x = random.NextDouble() * 60 - 10; y = random.NextDouble() * 60 - 10;
                    w = random.NextDouble() * 50; h = random.NextDouble() * 50;
                    break;
                case 1: // corners on or next to the 0.1 grid where the x5 rounding flips
                    x = random.Next(-20, 400) / 10.0 + random.Next(-1, 2) * 1e-9;
                    y = random.Next(-20, 400) / 10.0 + random.Next(-1, 2) * 1e-9;
                    w = random.Next(0, 300) / 10.0; h = random.Next(0, 300) / 10.0;
                    break;
                case 2: // tiny and degenerate boxes
                    x = random.NextDouble() * 40; y = random.NextDouble() * 40;
                    w = random.Next(0, 3) * random.NextDouble() * 0.3; h = random.Next(0, 3) * random.NextDouble() * 0.3;
                    break;
                default: // integer boxes, as many detectors write them
                    x = random.Next(-5, 45); y = random.Next(-5, 45); w = random.Next(0, 45); h = random.Next(0, 45);
                    break;
            }
            AssertSame(x, y, w, h, height, width, ref fast);
            cases++;
        }
        // the comparison above is only meaningful if most boxes took the fast path
        Assert.True(fast > cases / 2, $"only {fast} of {cases} boxes took the fast path");
    }

    [Theory]
    [InlineData(0, 0, 4, 4, 4, 4)]       // the whole image
    [InlineData(0.3, 0.3, 0.1, 0.1, 4, 4)] // inside one pixel, no column centre crossed
    [InlineData(0.5, 0.5, 0, 2, 4, 4)]   // zero width: declined, walked
    [InlineData(-1, -1, 3, 3, 4, 4)]     // negative corner: declined, walked
    [InlineData(2, 1, 100, 100, 4, 4)]   // past the right and bottom edges
    [InlineData(50, 50, 3, 3, 4, 4)]     // wholly outside
    [InlineData(0, 0, 3, 3, 0, 0)]       // empty image
    public void Edge_cases_give_the_walks_runs(double x, double y, double w, double h, int height, int width)
    {
        int fast = 0;
        AssertSame(x, y, w, h, height, width, ref fast);
    }
}
