using System.Text;
using PixelBox.Coco;

namespace PixelBox.Tests.Coco;

public class CocoJsonTests
{
    /// <summary>Results files over 4 MB are parsed in parallel chunks: the result must equal one sequential pass.</summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void ChunkedParseEqualsSequential(bool pretty, bool withDecoys)
    {
        var sb = new StringBuilder("[");
        var random = new Random(7);
        for (int i = 0; i < 60_000; i++)
        {
            if (i > 0) sb.Append(pretty ? ",\n  " : ",");
            double x = Math.Round(random.NextDouble() * 600, 2), y = Math.Round(random.NextDouble() * 400, 2);
            // a string that looks like an object boundary must not fool the splitter
            string extra = withDecoys && i % 997 == 0 ? ", \"note\": \"}, {\\\"x\\\": 1}, {\"" : "";
            sb.Append($"{{\"image_id\": {i % 500}, \"category_id\": {1 + i % 7}, \"bbox\": [{x}, {y}, {1 + i % 50}.5, {2 + i % 40}], \"score\": {random.NextDouble():R}{extra}}}");
        }
        sb.Append(pretty ? "\n]\n" : "]");
        var path = Path.Combine(Path.GetTempPath(), $"pixelbox-chunked-{Environment.ProcessId}-{pretty}-{withDecoys}.json");
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        Assert.True(bytes.Length > 4 << 20);
        File.WriteAllBytes(path, bytes);
        try
        {
            var sequential = CocoJson.ParseDetections(bytes, path, CocoIouType.Bbox);
            var chunked = CocoJson.ReadDetections(path, CocoIouType.Bbox);
            if (!withDecoys)
            {
                chunked = CocoJson.TryParseChunked((byte[])bytes.Clone(), path, segm: false);
                Assert.NotNull(chunked); // the parallel path itself, not the fallback
            }
            Assert.Equal(60_000, chunked.Count);
            Assert.Equal(sequential.ImageId, chunked.ImageId);
            Assert.Equal(sequential.CategoryId, chunked.CategoryId);
            Assert.Equal(sequential.Score, chunked.Score);
            Assert.Equal(sequential.Box, chunked.Box);
            Assert.Equal(sequential.Area, chunked.Area);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BoundaryInsideAStringIsDetected()
    {
        // one huge string full of fake boundaries spans every cut point
        var decoy = string.Concat(Enumerable.Repeat("}, {", 1_500_000));
        var text = $"[{{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5, \"note\": \"{decoy}\"}}, {{\"image_id\": 2, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.25}}]";
        var bytes = Encoding.UTF8.GetBytes(text);
        var copy = (byte[])bytes.Clone();
        Assert.Null(CocoJson.TryParseChunked(copy, "x.json", segm: false));
        Assert.Equal(bytes, copy); // restored for the sequential pass
        Assert.Equal([1L, 2L], CocoJson.ParseDetections(bytes, "x.json", CocoIouType.Bbox).ImageId);
    }

    [Fact]
    public void ErrorInALaterChunkNamesTheGlobalRecord()
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < 50_000; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append(i == 45_678
                ? "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4]}"
                : "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1.25, 2.5, 30.75, 40.125], \"score\": 0.123456789012345}");
        }
        sb.Append(']');
        var path = Path.Combine(Path.GetTempPath(), $"pixelbox-chunked-error-{Environment.ProcessId}.json");
        File.WriteAllText(path, sb.ToString());
        try
        {
            var e = Assert.Throws<InputException>(() => CocoJson.ReadDetections(path, CocoIouType.Bbox));
            Assert.Equal($"{path}: results[45678]: missing field 'score'", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void PythonFloatFormattingRoundsHalfToEven()
    {
        // Python: '{:0.3f}'.format(0.0625) == '0.062' (exact binary tie), .NET's "F3" gives 0.063
        Assert.Equal("0.062", NumpyMath.FormatFixed(0.0625, 3));
        Assert.Equal("0.188", NumpyMath.FormatFixed(0.1875, 3));
        Assert.Equal("-1.000", NumpyMath.FormatFixed(-1, 3));
        Assert.Equal("0.95", NumpyMath.FormatFixed(0.95, 2));
        Assert.Equal("0.90", NumpyMath.FormatFixed(0.8999999999999999, 2));
    }

    /// <summary>FormatFixed's 128-bit fast path against exact big-integer rounding (half to even).</summary>
    [Fact]
    public void FixedFormattingEqualsExactRounding()
    {
        static string Exact(double v, int decimals)
        {
            long bits = BitConverter.DoubleToInt64Bits(v);
            int exponent = (int)((bits >> 52) & 0x7FF);
            long fraction = bits & 0xF_FFFF_FFFF_FFFFL;
            var mantissa = new System.Numerics.BigInteger(exponent == 0 ? fraction : fraction | (1L << 52));
            int shift = (exponent == 0 ? 1 : exponent) - 1075;
            var scaled = mantissa * System.Numerics.BigInteger.Pow(10, decimals);
            System.Numerics.BigInteger q;
            if (shift >= 0)
                q = scaled << shift;
            else
            {
                var den = System.Numerics.BigInteger.One << -shift;
                q = System.Numerics.BigInteger.DivRem(scaled, den, out var rem);
                if (rem * 2 > den || (rem * 2 == den && !q.IsEven))
                    q += 1;
            }
            var digits = q.ToString().PadLeft(decimals + 1, '0');
            var text = digits[..^decimals] + (decimals > 0 ? "." + digits[^decimals..] : "");
            return (bits < 0 ? "-" : "") + text;
        }
        var random = new Random(11);
        for (int i = 0; i < 200_000; i++)
        {
            int decimals = random.Next(0, 8);
            double v = (i % 4) switch
            {
                0 => random.NextDouble() * 2 - 1,
                1 => random.Next(-4096, 4096) / (double)(1 << random.Next(0, 13)), // many exact ties
                2 => Math.Round(random.NextDouble(), 3) + (random.Next(3) - 1) * 5e-4,
                _ => BitConverter.Int64BitsToDouble(random.NextInt64()),
            };
            if (!double.IsFinite(v) || Math.Abs(v) > 1e30)
                continue;
            Assert.Equal(Exact(v, decimals), NumpyMath.FormatFixed(v, decimals));
        }
    }
}

public class StableSortTests
{
    /// <summary>Both paths (comparison sort, radix sort) against LINQ's stable OrderByDescending, ties included.</summary>
    [Theory]
    [InlineData(10)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(5000)]
    [InlineData(100_000)]
    public void ByScoreDescendingIsStable(int n)
    {
        var random = new Random(n);
        // few distinct values, so there are many ties; -0.0 and 0.0 are equal
        double[] pool = [0.0, -0.0, 1.0, 0.5, 0.25, 1e-300, 0.999999999, 0.1, 0.30000000000000004, 0.3];
        var score = new double[n];
        for (int i = 0; i < n; i++)
            score[i] = random.Next(3) == 0 ? pool[random.Next(pool.Length)] : random.NextDouble();
        var items = Enumerable.Range(0, n).Select(i => (i * 7919) % n).Distinct().ToArray();
        var expected = items.OrderByDescending(i => score[i]).ToArray();
        var actual = (int[])items.Clone();
        StableSort.ByScoreDescending(score, actual, new ulong[n]);
        Assert.Equal(expected, actual);
    }
}
