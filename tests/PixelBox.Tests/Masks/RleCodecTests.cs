using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>Hand-computed encode/decode and string cases (each also checked against cocoapi's maskApi.c).</summary>
public class RleCodecTests
{
    [Fact]
    public void Encode_counts_column_major_runs_starting_with_zeros()
    {
        // h=3, w=2, column-major: column 0 = (0,1,1), column 1 = (1,0,0) -> runs 0x1, 1x3, 0x2.
        var rle = RleCodec.Encode([0, 1, 1, 1, 0, 0], 3, 2);
        Assert.Equal(3, rle.Height);
        Assert.Equal(2, rle.Width);
        Assert.Equal([1u, 3, 2], rle.Counts);
    }

    [Fact]
    public void Encode_starts_with_a_zero_count_when_the_mask_starts_with_one()
    {
        Assert.Equal([0u, 2, 3, 1], RleCodec.Encode([1, 1, 0, 0, 0, 1], 3, 2).Counts);
        Assert.Equal([0u, 6], RleCodec.Encode([1, 1, 1, 1, 1, 1], 3, 2).Counts);
        Assert.Equal([6u], RleCodec.Encode([0, 0, 0, 0, 0, 0], 3, 2).Counts);
    }

    [Fact]
    public void Encode_treats_any_nonzero_byte_as_one()
    {
        Assert.Equal([1u, 3, 2], RleCodec.Encode([0, 255, 7, 1, 0, 0], 3, 2).Counts);
    }

    [Fact]
    public void Encode_of_an_empty_image_is_a_single_zero_run_as_pycocotools()
    {
        Assert.Equal([0u], RleCodec.Encode([], 0, 0).Counts);
        Assert.Equal([0u], RleCodec.Encode([], 4, 0).Counts);
    }

    [Fact]
    public void EncodeRowMajor_reads_rows_and_encodes_by_columns()
    {
        // Rows (0,1), (1,0), (1,0): the same mask as the column-major case above.
        var rle = RleCodec.EncodeRowMajor([0, 1, 1, 0, 1, 0], 3, 2);
        Assert.Equal([1u, 3, 2], rle.Counts);
        Assert.Equal([0u, 1, 3, 2], RleCodec.EncodeRowMajor([1, 0, 0, 1, 0, 1], 3, 2).Counts);
    }

    [Fact]
    public void Encode_rejects_a_mask_of_the_wrong_length()
    {
        Assert.Throws<ArgumentException>(() => RleCodec.Encode([0, 1, 1], 2, 2));
        Assert.Throws<ArgumentException>(() => RleCodec.EncodeRowMajor([0, 1, 1, 0, 0], 2, 2));
    }

    [Fact]
    public void Decode_writes_column_major_zeros_and_ones()
    {
        Assert.Equal([0, 1, 1, 1, 0, 0], RleCodec.Decode(new Rle(3, 2, [1, 3, 2])));
        Assert.Equal([1, 1, 0, 0, 0, 1], RleCodec.Decode(new Rle(3, 2, [0, 2, 3, 1])));
    }

    [Fact]
    public void Rle_rejects_counts_that_do_not_cover_the_image()
    {
        Assert.Throws<ArgumentException>(() => new Rle(3, 2, [1, 3]));
        Assert.Throws<ArgumentException>(() => new Rle(3, 2, [1, 3, 3]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Rle(-1, 2, []));
        // Sums are taken in 64 bits: these wrap to 6 in 32-bit arithmetic.
        Assert.Throws<ArgumentException>(() => new Rle(3, 2, [uint.MaxValue, 7]));
    }

    [Fact]
    public void Compressed_string_of_small_counts_is_one_character_each()
    {
        Assert.Equal("132", RleCodec.ToCompressedString(new Rle(3, 2, [1, 3, 2])));
    }

    [Fact]
    public void Compressed_string_uses_continuation_groups_and_signed_deltas()
    {
        // 100 = 3*32 + 4: group 4 with continuation (4|0x20 = 36 -> 'T'), then 3 -> '3'.
        // 5 -> '5'. 37 = 32 + 5: 5|0x20 -> 'U', then 1 -> '1' (i = 2 is not yet delta coded).
        // i = 3: 2 - counts[1] = -3; -3 & 0x1f = 29 carries the sign bit and -3 >> 5 = -1 ends it: 29 -> 'M'.
        var rle = new Rle(12, 12, [100, 5, 37, 2]);
        Assert.Equal("T35U1M", RleCodec.ToCompressedString(rle));
        Assert.Equal([100u, 5, 37, 2], RleCodec.FromCompressedString("T35U1M", 12, 12).Counts);
    }

    [Fact]
    public void Compressed_string_of_a_fixture_mask_matches_its_area_and_box()
    {
        // segm/gt.json annotation 2, made by the fixture generator with numpy: area 286, bbox [73, 27, 17, 22].
        var rle = RleCodec.FromCompressedString("i`35Y17K3M2O2N1O1O001O01O1O1O1O2M3M4Kem1", 49, 131);
        Assert.Equal(286, RleOps.Area(rle));
        Assert.Equal([73.0, 27, 17, 22], RleOps.ToBox(rle));
    }

    [Fact]
    public void Compressed_string_round_trips_the_largest_run_lengths()
    {
        // Deltas near +-2^32 need 7 characters.
        var rle = new Rle(65535, 65535, [0, 4294836224, 1, 0]);
        var text = RleCodec.ToCompressedString(rle);
        Assert.Equal(rle.Counts, RleCodec.FromCompressedString(text, 65535, 65535).Counts);
    }

    [Theory]
    [InlineData("13 2")]       // below '0'
    [InlineData("13p")]        // above 'o'
    [InlineData("1T")]         // ends inside a value ('T' has the continuation bit)
    [InlineData("TTTTTTT3")]   // a value of 8 groups
    [InlineData("13O")]        // 'O' = -1: third run negative
    public void FromCompressedString_rejects_garbage(string text)
    {
        Assert.Throws<FormatException>(() => RleCodec.FromCompressedString(text, 3, 2));
    }

    [Fact]
    public void FromCompressedString_rejects_runs_that_do_not_cover_the_image()
    {
        Assert.Throws<ArgumentException>(() => RleCodec.FromCompressedString("132", 3, 3));
        Assert.Throws<ArgumentException>(() => RleCodec.FromCompressedString("", 3, 2));
    }

    [Fact]
    public void FromUncompressed_takes_the_counts_list_as_is()
    {
        var rle = RleCodec.FromUncompressed([2L, 0, 0, 4], 3, 2);
        Assert.Equal([2u, 0, 0, 4], rle.Counts);
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([-1L, 7], 3, 2));
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([1L + uint.MaxValue], 3, 2));
        Assert.Throws<ArgumentException>(() => RleCodec.FromUncompressed([2L, 3], 3, 2));
    }
}
