using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>A column-major h x w mask; any nonzero byte is a 1.</summary>
public sealed record MaskCase(int Height, int Width, byte[] Pixels)
{
    public override string ToString() => $"{Height}x{Width} [{string.Join(",", Pixels)}]";
}

/// <summary>Several masks of one size, with a crowd flag per mask (for IoU and merge).</summary>
public sealed record MaskSet(int Height, int Width, byte[][] Masks, bool[] Crowd)
{
    public override string ToString() =>
        $"{Height}x{Width} crowd [{string.Join(",", Crowd)}] " + string.Join(" | ", Masks.Select(m => string.Join("", m)));
}

/// <summary>Run lengths of any size (up to 2^32 - 1) that cover an image.</summary>
public sealed record LargeRuns(int Height, int Width, uint[] Counts)
{
    public override string ToString() => $"{Height}x{Width} [{string.Join(",", Counts)}]";
}

/// <summary>Boxes [x, y, w, h] on a quarter-pixel grid, so every area and overlap is exact in doubles.</summary>
public sealed record BoxSet(double[] Dt, double[] Gt, bool[] Crowd)
{
    public override string ToString() => $"dt [{string.Join(",", Dt)}] gt [{string.Join(",", Gt)}] crowd [{string.Join(",", Crowd)}]";
}

public static class MaskArbitraries
{
    // Pixels come in runs (a repeat probability per pixel) so masks hold both long runs and speckle.
    static Gen<byte[]> PixelsGen(int count) =>
        from stickiness in Gen.Choose(0, 10)
        from seeds in Gen.ArrayOf(Gen.Elements<byte>(0, 0, 1, 1, 1, 255), count)
        from repeats in Gen.ArrayOf(Gen.Choose(0, 9), count)
        select Runs(seeds, repeats, stickiness);

    static byte[] Runs(byte[] seeds, int[] repeats, int stickiness)
    {
        for (int i = 1; i < seeds.Length; i++)
        {
            if (repeats[i] < stickiness)
                seeds[i] = seeds[i - 1];
        }
        return seeds;
    }

    public static Arbitrary<MaskCase> Masks() =>
        (from h in Gen.Choose(0, 12)
         from w in Gen.Choose(0, 12)
         from pixels in PixelsGen(h * w)
         select new MaskCase(h, w, pixels)).ToArbitrary();

    public static Arbitrary<MaskSet> MaskSets() =>
        (from h in Gen.Choose(1, 10)
         from w in Gen.Choose(1, 10)
         from n in Gen.Choose(1, 4)
         from masks in Gen.ArrayOf(PixelsGen(h * w), n)
         from crowd in Gen.ArrayOf(Gen.Elements(false, true), n)
         select new MaskSet(h, w, masks, crowd)).ToArbitrary();

    public static Arbitrary<LargeRuns> Runs() =>
        (from h in Gen.Choose(0, 65535)
         from w in Gen.Choose(0, 65535)
         from cuts in Gen.ArrayOf(Gen.Choose(0, int.MaxValue))
         select Partition(h, w, cuts)).ToArbitrary();

    static LargeRuns Partition(int h, int w, int[] cuts)
    {
        long total = (long)h * w;
        var points = cuts.Select(c => c * total / int.MaxValue).Append(0).Append(total).Order().ToArray();
        var counts = new uint[points.Length - 1];
        for (int i = 0; i < counts.Length; i++)
            counts[i] = (uint)(points[i + 1] - points[i]);
        return new LargeRuns(h, w, counts);
    }

    public static Arbitrary<BoxSet> Boxes()
    {
        var box = from v in Gen.ArrayOf(Gen.Choose(0, 40), 4) select v.Select(q => q / 4.0).ToArray();
        var boxes = from n in Gen.Choose(0, 4)
                    from list in Gen.ArrayOf(box, n)
                    select list.SelectMany(b => b).ToArray();
        return (from dt in boxes
                from gt in boxes
                from crowd in Gen.ArrayOf(Gen.Elements(false, true), gt.Length / 4)
                select new BoxSet(dt, gt, crowd)).ToArbitrary();
    }
}

[Properties(Arbitrary = [typeof(MaskArbitraries)], MaxTest = 300)]
public class RleProperties
{
    static byte[] Binary(byte[] pixels) => pixels.Select(p => p != 0 ? (byte)1 : (byte)0).ToArray();

    static Rle Encode(byte[] pixels, int h, int w) => RleCodec.Encode(pixels, h, w);

    [Property]
    public bool Decode_inverts_encode(MaskCase m) =>
        RleCodec.Decode(Encode(m.Pixels, m.Height, m.Width)).SequenceEqual(Binary(m.Pixels));

    [Property]
    public bool Row_major_encoding_equals_column_major_encoding_of_the_transpose(MaskCase m)
    {
        var rowMajor = new byte[m.Pixels.Length];
        for (int x = 0; x < m.Width; x++)
            for (int y = 0; y < m.Height; y++)
                rowMajor[y * m.Width + x] = m.Pixels[x * m.Height + y];
        return RleCodec.EncodeRowMajor(rowMajor, m.Height, m.Width).Counts
            .SequenceEqual(Encode(m.Pixels, m.Height, m.Width).Counts);
    }

    [Property]
    public bool Runs_alternate_and_only_the_first_may_be_empty(MaskCase m)
    {
        var counts = Encode(m.Pixels, m.Height, m.Width).Counts;
        return counts.Skip(1).All(c => c > 0);
    }

    [Property]
    public bool Area_is_the_number_of_set_pixels(MaskCase m) =>
        RleOps.Area(Encode(m.Pixels, m.Height, m.Width)) == m.Pixels.Count(p => p != 0);

    [Property]
    public bool ToBox_is_the_extent_of_the_set_pixels(MaskCase m)
    {
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = -1, y1 = -1;
        for (int i = 0; i < m.Pixels.Length; i++)
        {
            if (m.Pixels[i] == 0)
                continue;
            int x = i / m.Height, y = i % m.Height;
            (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
        }
        double[] expected = x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
        return RleOps.ToBox(Encode(m.Pixels, m.Height, m.Width)).SequenceEqual(expected);
    }

    [Property]
    public bool Compressed_string_round_trips(MaskCase m)
    {
        var rle = Encode(m.Pixels, m.Height, m.Width);
        var text = RleCodec.ToCompressedString(rle);
        return text.All(c => c >= '0' && c <= 'o')
            && RleCodec.FromCompressedString(text, m.Height, m.Width).Counts.SequenceEqual(rle.Counts);
    }

    [Property]
    public bool Compressed_string_round_trips_any_run_lengths(LargeRuns r)
    {
        var rle = new Rle(r.Height, r.Width, r.Counts);
        return RleCodec.FromCompressedString(RleCodec.ToCompressedString(rle), r.Height, r.Width).Counts
            .SequenceEqual(r.Counts);
    }

    [Property]
    public bool Merge_is_pixelwise_or_and_and(MaskSet s)
    {
        var rles = s.Masks.Select(m => Encode(m, s.Height, s.Width)).ToList();
        var or = new byte[s.Height * s.Width];
        var and = Enumerable.Repeat((byte)1, or.Length).ToArray();
        foreach (var m in s.Masks)
        {
            for (int i = 0; i < or.Length; i++)
            {
                or[i] |= m[i] != 0 ? (byte)1 : (byte)0;
                and[i] &= m[i] != 0 ? (byte)1 : (byte)0;
            }
        }
        // Merged runs are canonical: the same as encoding the merged pixels.
        return RleOps.Merge(rles, intersect: false).Counts.SequenceEqual(Encode(or, s.Height, s.Width).Counts)
            && RleOps.Merge(rles, intersect: true).Counts.SequenceEqual(Encode(and, s.Height, s.Width).Counts);
    }

    [Property]
    public bool Iou_equals_pixel_counting(MaskSet dt, MaskSet gtSet)
    {
        // Both sets are used at dt's size: gt masks are cropped/padded from the second set.
        int h = dt.Height, w = dt.Width;
        var gtMasks = gtSet.Masks.Select(m => Resize(m, h * w)).ToArray();
        var dtRles = dt.Masks.Select(m => Encode(m, h, w)).ToList();
        var gtRles = gtMasks.Select(m => Encode(m, h, w)).ToList();
        var result = new double[dtRles.Count * gtRles.Count];
        RleOps.Iou(dtRles, gtRles, gtSet.Crowd, result);
        for (int d = 0; d < dtRles.Count; d++)
        {
            for (int g = 0; g < gtRles.Count; g++)
            {
                int inter = 0, union = 0, dtArea = 0;
                for (int i = 0; i < h * w; i++)
                {
                    bool a = dt.Masks[d][i] != 0, b = gtMasks[g][i] != 0;
                    inter += a && b ? 1 : 0;
                    union += a || b ? 1 : 0;
                    dtArea += a ? 1 : 0;
                }
                double expected = inter == 0 ? 0 : (double)inter / (gtSet.Crowd[g] ? dtArea : union);
                if (result[d * gtRles.Count + g] != expected)
                    return false;
            }
        }
        return true;
    }

    static byte[] Resize(byte[] mask, int length)
    {
        var resized = new byte[length];
        mask.AsSpan(0, Math.Min(length, mask.Length)).CopyTo(resized);
        return resized;
    }

    [Property]
    public bool Iou_is_symmetric_and_within_0_1_without_crowds(MaskSet s)
    {
        var rles = s.Masks.Select(m => Encode(m, s.Height, s.Width)).ToList();
        int n = rles.Count;
        var result = new double[n * n];
        RleOps.Iou(rles, rles, new bool[n], result);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double v = result[i * n + j];
                if (v < 0 || v > 1 || v != result[j * n + i])
                    return false;
            }
        }
        return true;
    }

    [Property]
    public bool BoxIou_equals_the_overlap_formula(BoxSet s)
    {
        int m = s.Dt.Length / 4, n = s.Gt.Length / 4;
        var result = new double[m * n];
        RleOps.BoxIou(s.Dt, s.Gt, s.Crowd, result);
        for (int d = 0; d < m; d++)
        {
            for (int g = 0; g < n; g++)
            {
                // In quarter-pixel units everything is an integer.
                long[] a = [.. s.Dt.Skip(4 * d).Take(4).Select(v => (long)(v * 4))];
                long[] b = [.. s.Gt.Skip(4 * g).Take(4).Select(v => (long)(v * 4))];
                long iw = Math.Max(0, Math.Min(a[0] + a[2], b[0] + b[2]) - Math.Max(a[0], b[0]));
                long ih = Math.Max(0, Math.Min(a[1] + a[3], b[1] + b[3]) - Math.Max(a[1], b[1]));
                long inter = iw * ih, areaA = a[2] * a[3], areaB = b[2] * b[3];
                double expected = inter == 0 ? 0 : (double)inter / (s.Crowd[g] ? areaA : areaA + areaB - inter);
                if (result[d * n + g] != expected)
                    return false;
            }
        }
        return true;
    }
}
