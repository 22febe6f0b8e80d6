using System.Buffers.Binary;
using System.Buffers.Text;

namespace PixelBox.Coco;

/// <summary>
/// Exact conversion of JSON number text to double: the same correctly rounded value as
/// <see cref="Utf8Parser"/> (what <c>Utf8JsonReader.TryGetDouble</c> uses) and <c>double.Parse</c>, but
/// fast for the short decimals COCO files are full of. Two exact shortcuts, then the general parser:
/// <list type="number">
/// <item>Clinger's fast path: a significand w &lt;= 2^53 and a power of ten 10^k with k &lt;= 22 are
/// both exact doubles, so one IEEE multiplication or division rounds w*10^e correctly.</item>
/// <item>Up to 19 significant digits and 1..19 fraction digits (e.g. Python's 17-digit repr of a
/// score): a candidate w/10^k, within an ulp or so, is proved to be the correctly rounded value by
/// comparing w against the candidate's rounding interval in exact 128-bit integer arithmetic.</item>
/// </list>
/// </summary>
static class JsonNumber
{
    const ulong TwoTo53 = 1UL << 53;

    static readonly double[] ExactPowersOfTen =
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    static readonly ulong[] IntegerPowersOfTen =
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000,
        10_000_000_000_000_000_000,
    ];

    /// <summary>
    /// Reads a number that follows JSON's grammar exactly (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
    /// at <paramref name="start"/>. Returns the index after it, or -1 when the text there is not such a
    /// number or its value is not finite (Utf8JsonReader rejects both).
    /// </summary>
    public static int Parse(ReadOnlySpan<byte> s, int start, out double value)
    {
        int i = start;
        bool negative = (uint)i < (uint)s.Length && s[i] == (byte)'-';
        if (negative)
            i++;
        // integer part: "0", or a non-zero digit and more digits
        int integerStart = i;
        ulong w = 0;
        uint d;
        while ((uint)i < (uint)s.Length && (d = (uint)(s[i] - '0')) <= 9)
        {
            w = w * 10 + d;
            i++;
        }
        int significant = i - integerStart;
        if (significant == 0 || (significant > 1 && s[integerStart] == (byte)'0'))
        {
            value = 0;
            return -1;
        }
        // "0" (anything after a leading zero is not part of the number); not w == 0, which 3 * 10^65 also gives
        // once w has wrapped around 2^64
        bool integerIsZero = significant == 1 && s[integerStart] == (byte)'0';
        if (integerIsZero)
            significant = 0;
        int exponent10 = 0;
        if ((uint)i < (uint)s.Length && s[i] == (byte)'.')
        {
            int fractionStart = ++i;
            if (integerIsZero)
                while ((uint)i < (uint)s.Length && s[i] == (byte)'0')
                    i++;
            int digitsStart = i;
            // eight digits at a time while they last: a score's 16-17 digits take two steps
            while (i + 8 <= s.Length && TryEightDigits(s.Slice(i, 8), out uint eight))
            {
                w = w * 100_000_000 + eight;
                i += 8;
            }
            while ((uint)i < (uint)s.Length && (d = (uint)(s[i] - '0')) <= 9)
            {
                w = w * 10 + d;
                i++;
            }
            if (i == fractionStart)
            {
                value = 0;
                return -1;
            }
            significant += i - digitsStart;
            exponent10 = fractionStart - i;
        }
        if ((uint)i < (uint)s.Length && (s[i] | 0x20) == (byte)'e')
        {
            i++;
            bool negativeExponent = false;
            if ((uint)i < (uint)s.Length && (s[i] == (byte)'+' || s[i] == (byte)'-'))
                negativeExponent = s[i++] == (byte)'-';
            int first = i, written = 0;
            while ((uint)i < (uint)s.Length && (d = (uint)(s[i] - '0')) <= 9)
            {
                if (written < 100_000)
                    written = written * 10 + (int)d;
                i++;
            }
            if (i == first)
            {
                value = 0;
                return -1;
            }
            exponent10 += negativeExponent ? -written : written;
        }
        // more than 19 significant digits may have overflowed w: the general parser takes them
        if (significant <= 19 && TryExact(w, exponent10, out value))
        {
            if (negative)
                value = -value;
            return i;
        }
        if (!Utf8Parser.TryParse(s[start..i], out value, out int consumed) || consumed != i - start || !double.IsFinite(value))
            return -1;
        return i;
    }

    /// <summary>The value of eight ASCII digits, if all eight are digits (bytes read as one little-endian word).</summary>
    static bool TryEightDigits(ReadOnlySpan<byte> eight, out uint value)
    {
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(eight);
        // every byte 0x30..0x39: high nibble 3, and adding 6 does not carry out of the low nibble
        if ((v & 0xF0F0_F0F0_F0F0_F0F0) != 0x3030_3030_3030_3030 ||
            ((v + 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) != 0x3030_3030_3030_3030)
        {
            value = 0;
            return false;
        }
        v -= 0x3030_3030_3030_3030;
        // byte k (k even) becomes 10 * digit k + digit k+1: two-digit values in the low byte of each 16-bit lane
        v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
        // 32-bit lanes: 100 * pair + next pair (at most 9999)
        v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
        value = (uint)((v & 0xFFFF_FFFF) * 10_000 + (v >> 32));
        return true;
    }

    /// <summary>w * 10^exponent10 correctly rounded, when one of the exact shortcuts applies.</summary>
    static bool TryExact(ulong w, int exponent10, out double value)
    {
        if (w == 0)
        {
            value = 0;
            return true;
        }
        if (w <= TwoTo53)
        {
            if (exponent10 >= 0 && exponent10 <= 22)
            {
                value = (long)w * ExactPowersOfTen[exponent10];
                return true;
            }
            if (exponent10 < 0 && exponent10 >= -22)
            {
                value = (long)w / ExactPowersOfTen[-exponent10];
                return true;
            }
            value = 0;
            return false;
        }
        if (exponent10 < 0 && exponent10 >= -19)
            return TryVerifiedQuotient(w, -exponent10, out value);
        value = 0;
        return false;
    }

    /// <summary>
    /// w / 10^k for w &gt; 2^53, 1 &lt;= k &lt;= 19. A candidate c = m * 2^q (m the 53-bit significand) is
    /// the correctly rounded value iff w/10^k lies strictly between the midpoints (2m-1)*2^(q-1) and
    /// (2m+1)*2^(q-1), or on one of them when m is even (ties to even); multiplied out, both sides are
    /// integers: w * 2^(1-q) against (2m -/+ 1) * 10^k. The first candidate, w rounded then divided, is
    /// at most an ulp or two off; a neighbour is tried once. Cases that need more than 128 bits, a
    /// significand of exactly 2^52 (whose lower neighbour is closer) or q &gt;= 0 return false.
    /// </summary>
    static bool TryVerifiedQuotient(ulong w, int k, out double value)
    {
        value = (double)w / ExactPowersOfTen[k];
        for (int attempt = 0; attempt < 2; attempt++)
        {
            ulong bits = BitConverter.DoubleToUInt64Bits(value);
            int biased = (int)(bits >> 52);
            ulong m = (bits & ((1UL << 52) - 1)) | (1UL << 52);
            int q = biased - 1075;
            int shift = 1 - q;
            if (biased == 0 || m == 1UL << 52 || q >= 0 || 64 - (int)ulong.LeadingZeroCount(w) + shift > 127)
                return false;
            UInt128 scaled = (UInt128)w << shift;
            ulong power = IntegerPowersOfTen[k];
            ulong lowHigh = Math.BigMul(2 * m - 1, power, out ulong lowLow);
            ulong highHigh = Math.BigMul(2 * m + 1, power, out ulong highLow);
            UInt128 low = new(lowHigh, lowLow), high = new(highHigh, highLow);
            if (scaled > low && scaled < high)
                return true;
            if ((m & 1) == 0 && (scaled == low || scaled == high))
                return true;
            value = scaled <= low ? Math.BitDecrement(value) : Math.BitIncrement(value);
        }
        return false;
    }
}
