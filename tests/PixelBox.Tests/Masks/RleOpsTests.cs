using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>
/// Hand-computed cases of the mask operations. Each expected value was derived by stepping through the
/// pycocotools algorithm by hand and then confirmed against cocoapi's maskApi.c.
/// </summary>
public class RleOpsTests
{
    // 4x4 masks, column-major positions 0..15 (position = x * 4 + y).
    static readonly Rle A = new(4, 4, [0, 6, 10]);   // positions 0..5: column 0 and rows 0-1 of column 1
    static readonly Rle B = new(4, 4, [4, 6, 6]);    // positions 4..9: column 1 and rows 0-1 of column 2
    static readonly Rle C = new(4, 4, [12, 4]);      // positions 12..15: column 3

    [Fact]
    public void Polygon_square_covers_the_pixels_whose_centres_are_inside()
    {
        // Square (1,1)-(4,3) at 5x scale: x 5..20, y 5..15. The top edge crosses column centres
        // (5x+2 = 7, 12, 17, i.e. x = 1, 2, 3) at y 5 -> ceil((5.5)/5 - .5) = ceil(0.6) = 1; the bottom edge at
        // y 15 -> ceil(2.6) = 3. Boundaries at x*h+y (h = 5): 6, 11, 16 and 8, 13, 18, plus h*w = 30; their
        // differences are the runs.
        var rle = RleOps.FromPolygons([[1, 1, 4, 1, 4, 3, 1, 3]], 5, 6);
        Assert.Equal([6u, 2, 3, 2, 3, 2, 12], rle.Counts);
        Assert.Equal(6, RleOps.Area(rle));
        Assert.Equal([1.0, 1, 3, 2], RleOps.ToBox(rle));
        Assert.Equal("6230009", RleCodec.ToCompressedString(rle));
    }

    [Fact]
    public void Polygon_triangle_drops_pixels_whose_centre_is_on_the_hypotenuse()
    {
        // Triangle (0,0),(4,0),(0,4): the bottom edge gives boundaries (x, 0) for x = 0..3; the hypotenuse,
        // walked backwards, gives (3,0), (2,1), (1,2), (0,3). (3,0) twice cancels, so column 3 is empty:
        // columns hold 3, 2, 1 pixels (centres with x + y + 1 < 4); area 6 against the polygon's 8.
        var rle = RleOps.FromPolygons([[0, 0, 4, 0, 0, 4]], 6, 6);
        Assert.Equal([0u, 3, 3, 2, 4, 1, 23], rle.Counts);
        Assert.Equal(6, RleOps.Area(rle));
        Assert.Equal([0.0, 0, 3, 3], RleOps.ToBox(rle));
    }

    [Fact]
    public void Polygons_of_one_object_are_united()
    {
        // The square above and a single-pixel square at (5,4): union of both rasterisations.
        var square = RleOps.FromPolygons([[1, 1, 4, 1, 4, 3, 1, 3]], 5, 6);
        var dot = RleOps.FromPolygons([[5, 4, 6, 4, 6, 5, 5, 5]], 5, 6);
        Assert.Equal([29u, 1], dot.Counts);
        var both = RleOps.FromPolygons([[1, 1, 4, 1, 4, 3, 1, 3], [5, 4, 6, 4, 6, 5, 5, 5]], 5, 6);
        Assert.Equal(RleOps.Merge([square, dot], intersect: false).Counts, both.Counts);
        Assert.Equal(7, RleOps.Area(both));
    }

    [Fact]
    public void Polygon_input_errors_are_argument_exceptions()
    {
        Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([], 5, 6));
        Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([[1.0]], 5, 6));
        Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([[1, 1, double.NaN, 1, 4, 3]], 5, 6));
        Assert.Throws<ArgumentException>(() => RleOps.FromPolygons([[1, 1, 1e12, 1, 4, 3]], 5, 6));
    }

    [Fact]
    public void Box_is_rasterised_as_its_polygon()
    {
        Assert.Equal([6u, 2, 3, 2, 3, 2, 12], RleOps.FromBox(1, 1, 3, 2, 5, 6).Counts);
        // Half-pixel box (0.5,0.5)-(2.5,2.5): edges at 5x+.5 -> 3 and 13; columns 1 and 2 (5x+2 = 7, 12),
        // rows from ceil(3.5/5 - .5) = 1 to ceil(13.5/5 - .5) = 3 (exclusive): pixel centres on the far edge count.
        Assert.Equal([5u, 2, 2, 2, 5], RleOps.FromBox(0.5, 0.5, 2, 2, 4, 4).Counts);
    }

    [Fact]
    public void Area_sums_the_runs_of_ones()
    {
        Assert.Equal(6, RleOps.Area(A));
        Assert.Equal(4, RleOps.Area(C));
        Assert.Equal(0, RleOps.Area(new Rle(4, 4, [16])));
    }

    [Fact]
    public void ToBox_spans_full_height_when_a_run_wraps_into_the_next_column()
    {
        Assert.Equal([0.0, 0, 2, 4], RleOps.ToBox(A));
        Assert.Equal([1.0, 0, 2, 4], RleOps.ToBox(B));
        Assert.Equal([3.0, 0, 1, 4], RleOps.ToBox(C));
        // Rows 1-2 of column 2 only.
        Assert.Equal([2.0, 1, 1, 2], RleOps.ToBox(new Rle(4, 4, [9, 2, 5])));
        Assert.Equal([0.0, 0, 0, 0], RleOps.ToBox(new Rle(4, 4, [16])));
    }

    [Fact]
    public void ToBox_keeps_the_cocoapi_quirk_for_empty_runs_of_ones()
    {
        // Runs 5 zeros, 0 ones, 3 zeros: an empty mask, but the cocoapi version the reference numbers come from
        // takes the zero-length run's start (position 5) and "end" (position 4) as pixels.
        Assert.Equal([1.0, 0, 1, 2], RleOps.ToBox(new Rle(4, 2, [5, 0, 3])));
    }

    [Fact]
    public void Merge_unites_or_intersects_runs()
    {
        Assert.Equal([0u, 10, 6], RleOps.Merge([A, B], intersect: false).Counts);
        Assert.Equal([4u, 2, 10], RleOps.Merge([A, B], intersect: true).Counts);
        Assert.Equal([0u, 10, 2, 4], RleOps.Merge([A, B, C], intersect: false).Counts);
        Assert.Equal([16u], RleOps.Merge([A, C], intersect: true).Counts);
        Assert.Equal(A.Counts, RleOps.Merge([A], intersect: false).Counts);
    }

    [Fact]
    public void Merge_rejects_nothing_and_mixed_sizes()
    {
        Assert.Throws<ArgumentException>(() => RleOps.Merge([], intersect: false));
        Assert.Throws<ArgumentException>(() => RleOps.Merge([A, new Rle(2, 8, [16])], intersect: false));
    }

    [Fact]
    public void Merge_rejects_input_that_pycocotools_would_truncate()
    {
        // pycocotools stops at the simultaneous zero-length runs and returns counts [2] for a 5-pixel image.
        var odd = new Rle(5, 1, [2, 0, 0, 3]);
        Assert.Throws<ArgumentException>(() => RleOps.Merge([odd, odd], intersect: false));
        // Merging that truncated result with a third mask would never end in pycocotools.
        Assert.Throws<ArgumentException>(() => RleOps.Merge([odd, odd, new Rle(5, 1, [5])], intersect: false));
    }

    [Fact]
    public void Iou_divides_intersection_by_union_or_by_the_detection_area_for_crowds()
    {
        var result = new double[3];
        RleOps.Iou([A], [B, C, A], [false, false, false], result);
        Assert.Equal([2.0 / 10, 0, 1], result);
        RleOps.Iou([A], [B, C, A], [true, true, true], result);
        Assert.Equal([2.0 / 6, 0, 1], result);
    }

    [Fact]
    public void Iou_is_laid_out_detection_major()
    {
        var result = new double[6];
        RleOps.Iou([A, B], [B, C, A], [false, true, false], result);
        // A vs (B, C, A) then B vs (B, C, A). B and C share no pixel and their boxes only touch.
        Assert.Equal([0.2, 0, 1, 1, 0, 0.2], result);
    }

    [Fact]
    public void Iou_reproduces_the_pycocotools_stop_at_simultaneous_zero_runs()
    {
        var odd = new Rle(5, 1, [2, 0, 0, 3]);
        var plain = new Rle(5, 1, [2, 3]);
        var result = new double[1];
        RleOps.Iou([odd], [odd], [false], result);
        Assert.Equal(0.0, result[0]);
        RleOps.Iou([odd], [plain], [false], result);
        Assert.Equal(1.0, result[0]);
    }

    [Fact]
    public void Iou_rejects_mismatched_inputs()
    {
        var other = new Rle(2, 8, [16]);
        Assert.Throws<ArgumentException>(() => RleOps.Iou([A], [other], [false], new double[1]));
        Assert.Throws<ArgumentException>(() => RleOps.Iou([other], [A], [false], new double[1]));
        Assert.Throws<ArgumentException>(() => RleOps.Iou([A], [B], [false, true], new double[1]));
        Assert.Throws<ArgumentException>(() => RleOps.Iou([A, B], [B], [false], new double[1]));
        RleOps.Iou([], [B], [false], Span<double>.Empty);
    }

    [Fact]
    public void BoxIou_follows_bbIou()
    {
        var result = new double[4];
        RleOps.BoxIou([0, 0, 2, 2, 0, 0, 1, 1], [1, 1, 2, 2, 1, 0, 1, 1], [false, false], result);
        // Overlap 1 of union 7; overlap 1 of union 4; (0,0,1,1) vs (1,1,2,2) and vs (1,0,1,1) only touch.
        Assert.Equal([1.0 / 7, 0.25, 0, 0], result);
        RleOps.BoxIou([0, 0, 2, 2], [1, 1, 2, 2], [true], result.AsSpan(0, 1));
        Assert.Equal(0.25, result[0]);
    }

    [Fact]
    public void BoxIou_uses_C_fmin_and_fmax_for_NaN()
    {
        // fmin(NaN + 2, 2) = 2 and fmax(NaN, 0) = 0 in C: the NaN x drops out of the overlap.
        var result = new double[1];
        RleOps.BoxIou([double.NaN, 0, 2, 2], [0, 0, 2, 2], [false], result);
        Assert.Equal(1.0, result[0]);
        Assert.Throws<ArgumentException>(() => RleOps.BoxIou([0, 0, 2], [0, 0, 2, 2], [false], result));
    }
}
