using PixelBox.Fuzz.Targets;
using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>
/// Hostile RLE and polygon input: sizes COCO's 32-bit runs cannot address, counts that do not add up,
/// non-finite or huge coordinates, polygons whose walk would never end. Each is a one-line ArgumentException
/// (callers name the file), at once, with memory in proportion to the input.
/// </summary>
public class RleHardeningTests
{
    [Fact]
    public void A_size_beyond_32_bit_positions_is_refused_before_anything_is_allocated()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ArgumentException>(() => RleCodec.FromCompressedString("0", 100000, 100000));
        Assert.Equal("a 100000x100000 mask has more than 4294967295 pixels, the most COCO's 32-bit run-length encoding can address", e.Message);
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([10_000_000_000], 100000, 100000));
        Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([[0, 0, 10, 0, 10, 10]], 100000, 100000));
        Assert.Throws<ArgumentException>(() => RleOps.FromBox(0, 0, 10, 10, 100000, 100000));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void Negative_sizes_and_counts_that_do_not_add_up_are_one_line()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RleCodec.FromCompressedString("0", -1, 4));
        Assert.Equal("a mask size cannot be negative (-1x4) (Parameter 'height')", e.Message);
        Assert.Equal("RLE runs sum to 5 but a 2x2 mask has 4 pixels (Parameter 'counts')",
            Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([1, 4], 2, 2)).Message);
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([-1, 5], 2, 2));
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([uint.MaxValue, uint.MaxValue, 2], 65536, 65536));
    }

    [Fact]
    public void A_mask_too_large_for_one_array_is_not_decoded()
    {
        // 65535 x 65535 is within COCO's 32-bit positions but beyond a .NET array
        var rle = RleCodec.FromUncompressed([0, 65535L * 65535], 65535, 65535);
        Assert.Equal(65535L * 65535, RleOps.Area(rle));
        var e = Assert.Throws<ArgumentException>(() => RleCodec.Decode(rle));
        Assert.StartsWith("a 65535x65535 mask is too large to decode into one array", e.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(1e308)]
    [InlineData(-1.0000001e8)]
    public void Non_finite_or_huge_coordinates_are_refused(double v)
    {
        var e = Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([[0, 0, v, 5, 5, 5]], 10, 10));
        Assert.StartsWith($"polygon coordinate {v} is not a finite number within +-100000000", e.Message);
    }

    [Fact]
    public void A_polygon_spanning_huge_coordinates_is_rasterised_by_the_columns_it_crosses()
    {
        // edges 2e8 long on the 5x grid: the dense walk would visit a billion points per edge
        var rle = RleOps.FromPolygons([[-1e8, -1e8, 1e8, -1e8, 1e8, 1e8, -1e8, 1e8]], 480, 640);
        Assert.Equal([0u, 480u * 640], rle.Counts);
        double[] thin = [3.2, -1e6, 3.4, 1e6, 3.3, 1e6];
        Assert.Equal(PolygonWalkReferenceCounts(thin, 100, 10, allowLong: true), RleOps.FromPolygons([thin], 100, 10).Counts);
    }

    [Fact]
    public void A_polygon_crossing_too_many_columns_is_refused()
    {
        // a zig-zag of 1,000 edges over a 10,000-pixel-wide image crosses ten million columns
        var xy = new double[2000];
        for (int i = 0; i < 1000; i++)
            (xy[2 * i], xy[2 * i + 1]) = (i % 2 == 0 ? 0 : 9999, i);
        var e = Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([xy], 2, 10000));
        Assert.Equal("the polygon's edges cross 9999000 pixel columns, more than the 4194304 supported", e.Message);
    }

    [Fact]
    public void A_contour_of_a_million_vertices_rasterises_as_its_dense_walk()
    {
        var xy = new double[2_000_000];
        for (int i = 0; i < xy.Length / 2; i++)
        {
            double angle = 2 * Math.PI * i / (xy.Length / 2);
            (xy[2 * i], xy[2 * i + 1]) = (50 + 40 * Math.Cos(angle), 50 + 40 * Math.Sin(angle));
        }
        var rle = RleOps.FromPolygons([xy], 100, 100);
        Assert.Equal(PolygonWalkReferenceCounts(xy, 100, 100, allowLong: true), rle.Counts);
        Assert.InRange(RleOps.Area(rle), 4900, 5150); // pi * 40^2 = 5027
    }

    /// <summary>
    /// Both walks (point by point, and the one that skips to the columns, taken for long walks) equal the dense walk of pycocotools (the previous implementation, kept as the
    /// fuzz oracle) on polygons in, around and far outside the image, including degenerate ones.
    /// </summary>
    [Fact]
    public void Rasterisation_equals_the_dense_walk_on_random_polygons()
    {
        var random = new Random(20261201);
        for (int trial = 0; trial < 3000; trial++)
        {
            int h = random.Next(0, 40), w = random.Next(0, 40);
            double span = random.Next(4) switch { 0 => 1, 1 => 3, 2 => 20, _ => 500 };
            var xy = new double[2 * random.Next(1, 9)];
            for (int i = 0; i < xy.Length; i++)
            {
                double v = (random.NextDouble() * 2 - 0.5) * span * Math.Max(h, w);
                xy[i] = random.Next(5) == 0 ? Math.Round(v) : random.Next(5) == 0 ? Math.Round(v * 5) / 5 + 0.1 : v;
            }
            var expected = PolygonWalkReferenceCounts(xy, h, w, allowLong: false);
            if (expected is null)
                continue;
            Assert.True(expected.SequenceEqual(RleOps.FromPolygons([xy], h, w).Counts), $"{h}x{w}: [{string.Join(", ", xy)}]");
            Assert.True(expected.SequenceEqual(PolygonRasterizer.Rasterize(xy, h, w, denseWalkLimit: 0).Counts), $"skipping walk, {h}x{w}: [{string.Join(", ", xy)}]");
        }
    }

    static uint[]? PolygonWalkReferenceCounts(double[] xy, int h, int w, bool allowLong) =>
        allowLong || PolygonWalkReference.WalkLength(xy) < 2_000_000 ? PolygonWalkReference.Rasterize(xy, h, w) : null;
}
