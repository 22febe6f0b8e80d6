using System.Numerics;
using System.Text;

namespace PixelBox.Coco;

/// <summary>The few numpy/Python numeric behaviours the COCO numbers depend on, reproduced exactly.</summary>
static class NumpyMath
{
    /// <summary>
    /// np.mean(values) of a 1-d float64 array: the reduction runs over buffer-sized chunks of 8192
    /// elements, each summed pairwise (8-way unrolled blocks of up to 128), the chunk sums added in order.
    /// </summary>
    public static double Mean(ReadOnlySpan<double> values)
    {
        const int BufferSize = 8192;
        double sum = 0.0;
        for (int start = 0; start < values.Length; start += BufferSize)
            sum += PairwiseSum(values.Slice(start, Math.Min(BufferSize, values.Length - start)));
        return sum / values.Length;
    }

    static double PairwiseSum(ReadOnlySpan<double> a)
    {
        int n = a.Length;
        if (n < 8)
        {
            double res = 0.0;
            for (int i = 0; i < n; i++)
                res += a[i];
            return res;
        }
        if (n <= 128)
        {
            double r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
            int i;
            for (i = 8; i < n - n % 8; i += 8)
            {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3];
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7];
            }
            double res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++)
                res += a[i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return PairwiseSum(a[..n2]) + PairwiseSum(a[n2..]);
    }

    /// <summary>
    /// Python's '{:0.Nf}'.format(v): the exact binary value rounded half-to-even (.NET rounds ties away
    /// from zero, which differs for values such as 0.0625).
    /// </summary>
    public static string FormatFixed(double v, int decimals)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        if (!double.IsFinite(v))
            return double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
        long bits = BitConverter.DoubleToInt64Bits(v);
        bool negative = bits < 0;
        int exponent = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        ulong mantissa = (ulong)(exponent == 0 ? fraction : fraction | (1L << 52));
        int shift = (exponent == 0 ? 1 : exponent) - 1075; // v = mantissa * 2^shift
        string digits;
        if (shift < 0 && decimals <= 19)
        {
            // v * 10^d = mantissa * 10^d / 2^-shift; mantissa * 10^d < 2^53 * 2^64 fits 128 bits
            UInt128 scaled = (UInt128)mantissa * PowerOfTen(decimals);
            int s = -shift;
            UInt128 q;
            if (s >= 118)
                q = 0; // scaled < 2^117 is below half of 2^s
            else
            {
                q = scaled >> s;
                UInt128 rem = scaled - (q << s), half = UInt128.One << (s - 1);
                if (rem > half || (rem == half && (q & 1) != 0))
                    q += 1;
            }
            digits = q.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
            digits = ScaledDigits(mantissa, shift, decimals);
        digits = digits.PadLeft(decimals + 1, '0');
        var sb = new StringBuilder();
        if (negative)
            sb.Append('-');
        sb.Append(digits, 0, digits.Length - decimals);
        if (decimals > 0)
            sb.Append('.').Append(digits, digits.Length - decimals, decimals);
        return sb.ToString();
    }

    static ulong PowerOfTen(int n)
    {
        ulong p = 1;
        for (int i = 0; i < n; i++)
            p *= 10;
        return p;
    }

    /// <summary>round-half-even(mantissa * 2^shift * 10^decimals) in full precision (large values, many decimals).</summary>
    static string ScaledDigits(ulong mantissa, int shift, int decimals)
    {
        BigInteger scaled = mantissa * BigInteger.Pow(10, decimals);
        BigInteger q;
        if (shift >= 0)
            q = scaled << shift;
        else
        {
            var den = BigInteger.One << -shift;
            q = BigInteger.DivRem(scaled, den, out var rem);
            var twice = rem * 2;
            if (twice > den || (twice == den && !q.IsEven))
                q += 1;
        }
        return q.ToString();
    }
}
