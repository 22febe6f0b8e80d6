using System.Globalization;
using System.Text;
using PixelBox.Masks;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// COCO's compressed RLE strings and the run operations. Input: lines "H W", counts string, and optionally a
/// second "H W" and string. Errors must be the documented ArgumentException or FormatException; whatever
/// decodes must round-trip through the string form, agree with its pixels (area, decode/encode), and its
/// union, intersection and IoU with the second mask must equal the pixel-wise ones.
/// </summary>
static class RleTarget
{
    /// <summary>Masks up to this many pixels are also checked pixel by pixel.</summary>
    const long PixelCheckLimit = 1 << 20;

    public static FuzzTarget Create() => new()
    {
        Name = "rle",
        Checks = "RLE strings: documented errors only; string round trip, area, decode/encode, merge and IoU equal the pixel-wise results",
        Run = Run,
        IsExpected = e => e is ArgumentException or FormatException,
        Dictionary = [.. new[] { "0", "1", "\n", " ", "o", "O", "?", "_", "`", "ol", "Lo", "00", "2147483647", "65536", "-1" }.Select(Encoding.ASCII.GetBytes)],
    };

    static void Run(byte[] input)
    {
        var lines = Encoding.Latin1.GetString(input).Split('\n');
        if (lines.Length < 2 || !TryParseSize(lines[0], out int h, out int w))
            return;
        var a = RleCodec.FromCompressedString(lines[1], h, w);
        CheckOne(a);
        if (lines.Length < 4 || !TryParseSize(lines[2], out int h2, out int w2))
            return;
        var b = RleCodec.FromCompressedString(lines[3], h2, w2);
        CheckOne(b);
        CheckPair(a, b);
    }

    static void CheckOne(Rle rle)
    {
        var again = RleCodec.FromCompressedString(RleCodec.ToCompressedString(rle), rle.Height, rle.Width);
        if (!again.Counts.AsSpan().SequenceEqual(rle.Counts))
            throw new PropertyViolation("the compressed string does not round-trip");
        var uncompressed = RleCodec.FromUncompressed(rle.Counts.Select(c => (long)c).ToArray(), rle.Height, rle.Width);
        if (!uncompressed.Counts.AsSpan().SequenceEqual(rle.Counts))
            throw new PropertyViolation("the uncompressed form does not round-trip");
        long area = RleOps.Area(rle);
        var box = RleOps.ToBox(rle);
        if ((long)rle.Height * rle.Width > PixelCheckLimit)
            return;
        var mask = RleCodec.Decode(rle);
        long ones = mask.AsSpan().Count((byte)1);
        if (ones != area)
            throw new PropertyViolation($"area {area} but {ones} pixels are set");
        var reencoded = RleCodec.Decode(RleCodec.Encode(mask, rle.Height, rle.Width));
        if (!reencoded.AsSpan().SequenceEqual(mask))
            throw new PropertyViolation("decode(encode(mask)) differs from the mask");
        if (ones > 0 && IsCanonical(rle))
        {
            var (x0, y0, x1, y1) = PixelBox(mask, rle.Height, rle.Width);
            // rleToBbox spans whole columns when a run wraps, so it may be taller than the pixels' box; never smaller
            if (box[0] != x0 || box[2] != x1 - x0 + 1 || box[1] > y0 || box[1] + box[3] - 1 < y1)
                throw new PropertyViolation($"box [{string.Join(", ", box)}] does not bound the pixels ({x0}, {y0})-({x1}, {y1})");
        }
    }

    static void CheckPair(Rle a, Rle b)
    {
        var union = RleOps.Merge([a, b], intersect: false);
        var intersection = RleOps.Merge([a, b], intersect: true);
        var iou = new double[2];
        RleOps.Iou([a], [b, b], [false, true], iou);
        if ((long)a.Height * a.Width > PixelCheckLimit || !IsCanonical(a) || !IsCanonical(b))
            return;
        var (ma, mb) = (RleCodec.Decode(a), RleCodec.Decode(b));
        long inter = 0, united = 0;
        for (int i = 0; i < ma.Length; i++)
        {
            inter += ma[i] & mb[i];
            united += ma[i] | mb[i];
        }
        if (RleOps.Area(intersection) != inter || RleOps.Area(union) != united)
            throw new PropertyViolation($"merge: intersection {RleOps.Area(intersection)} / union {RleOps.Area(union)}, pixels say {inter} / {united}");
        double expected = inter == 0 ? 0 : (double)inter / united;
        double expectedCrowd = inter == 0 ? 0 : (double)inter / RleOps.Area(a);
        if (iou[0] != expected || iou[1] != expectedCrowd)
            throw new PropertyViolation($"IoU {iou[0]} (crowd {iou[1]}), pixels say {expected} (crowd {expectedCrowd})");
    }

    /// <summary>No zero-length run after the first: the form pycocotools itself produces.</summary>
    static bool IsCanonical(Rle rle) => !rle.Counts.AsSpan(Math.Min(1, rle.Counts.Length)).Contains(0u);

    static (int X0, int Y0, int X1, int Y1) PixelBox(byte[] mask, int h, int w)
    {
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h; y++)
                if (mask[x * h + y] != 0)
                    (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
        return (x0, y0, x1, y1);
    }

    static bool TryParseSize(string line, out int h, out int w)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        h = w = 0;
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out h)
            && int.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out w);
    }
}
