using System.Buffers;

namespace PixelBox.Masks;

/// <summary>
/// Conversions between binary masks, <see cref="Rle"/> and the COCO file forms of an RLE (the compressed
/// "counts" string and the uncompressed counts list), behaving as pycocotools' mask API (maskApi.c).
/// </summary>
public static class RleCodec
{
    /// <summary>Encodes an h x w mask stored column-major (<c>mask[x * h + y]</c>); nonzero bytes are 1.</summary>
    public static Rle Encode(ReadOnlySpan<byte> mask, int height, int width)
    {
        int pixels = CheckMaskSize(mask.Length, height, width);
        // pycocotools emits a single 0 run for an empty mask.
        if (pixels == 0)
            return new Rle(height, width, [0u]);
        var counts = new List<uint>();
        int pos = 0;
        bool ones = false;
        while (pos < pixels)
        {
            var rest = mask[pos..];
            int run = ones ? rest.IndexOf((byte)0) : rest.IndexOfAnyExcept((byte)0);
            if (run < 0)
                run = rest.Length;
            counts.Add((uint)run);
            pos += run;
            ones = !ones;
        }
        return new Rle(height, width, [.. counts]);
    }

    /// <summary>Encodes an h x w mask stored row-major (<c>mask[y * w + x]</c>); nonzero bytes are 1.</summary>
    public static Rle EncodeRowMajor(ReadOnlySpan<byte> mask, int height, int width)
    {
        int pixels = CheckMaskSize(mask.Length, height, width);
        if (pixels == 0)
            return new Rle(height, width, [0u]);
        var counts = new List<uint>();
        bool current = false;
        uint run = 0;
        for (int x = 0; x < width; x++)
        {
            for (int i = x; i < pixels; i += width)
            {
                bool value = mask[i] != 0;
                if (value != current)
                {
                    counts.Add(run);
                    run = 0;
                    current = value;
                }
                run++;
            }
        }
        counts.Add(run);
        return new Rle(height, width, [.. counts]);
    }

    /// <summary>Decodes to a column-major array of 0/1 bytes (<c>mask[x * h + y]</c>).</summary>
    /// <exception cref="ArgumentException">A mask larger than one .NET array holds (Array.MaxLength bytes).</exception>
    public static byte[] Decode(Rle rle)
    {
        ArgumentNullException.ThrowIfNull(rle);
        long pixels = (long)rle.Height * rle.Width;
        if (pixels > Array.MaxLength)
            throw new ArgumentException($"a {rle.Height}x{rle.Width} mask is too large to decode into one array ({pixels} pixels)", nameof(rle));
        var mask = new byte[pixels];
        int pos = 0;
        var counts = rle.Counts;
        for (int i = 0; i < counts.Length; i++)
        {
            int run = (int)counts[i];
            if ((i & 1) == 1)
                mask.AsSpan(pos, run).Fill(1);
            pos += run;
        }
        return mask;
    }

    /// <summary>
    /// The COCO compressed "counts" string, byte-identical to pycocotools' rleToString: from the fourth
    /// count on, each count is stored as its difference to the count two places earlier; every value is
    /// written in 5-bit groups, low first, as characters '0' + group, with 0x20 flagging a following group
    /// and 0x10 in the last group carrying the sign.
    /// </summary>
    public static string ToCompressedString(Rle rle)
    {
        ArgumentNullException.ThrowIfNull(rle);
        var counts = rle.Counts;
        // A difference of two uints needs at most 7 groups (35 bits with sign).
        var buffer = ArrayPool<char>.Shared.Rent(Math.Max(1, counts.Length * 7));
        try
        {
            int p = 0;
            for (int i = 0; i < counts.Length; i++)
            {
                long x = counts[i];
                if (i > 2)
                    x -= counts[i - 2];
                bool more = true;
                while (more)
                {
                    int c = (int)(x & 0x1f);
                    x >>= 5;
                    more = (c & 0x10) != 0 ? x != -1 : x != 0;
                    if (more)
                        c |= 0x20;
                    buffer[p++] = (char)(c + 48);
                }
            }
            return new string(buffer, 0, p);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses a COCO compressed "counts" string (pycocotools' rleFrString).</summary>
    /// <exception cref="FormatException">A character outside '0'..'o', a truncated or over-long value, or a negative run.</exception>
    /// <exception cref="ArgumentException">The runs do not sum to height * width.</exception>
    public static Rle FromCompressedString(string counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        Rle.CheckSize(height, width);
        var runs = new uint[counts.Length];
        int m = 0, p = 0;
        while (p < counts.Length)
        {
            long x = 0;
            int k = 0;
            bool more = true;
            while (more)
            {
                if (p >= counts.Length)
                    throw new FormatException($"RLE counts string ends inside a value (at character {p})");
                int c = counts[p] - 48;
                if (c < 0 || c > 0x3f)
                    throw new FormatException($"RLE counts string has an invalid character '{counts[p]}' at {p}");
                // pycocotools' own output never needs more than 7 groups; more would overflow its decoder.
                if (k == 7)
                    throw new FormatException($"RLE counts string has a value longer than 7 characters at {p}");
                x |= (long)(c & 0x1f) << (5 * k);
                more = (c & 0x20) != 0;
                p++;
                k++;
                if (!more && (c & 0x10) != 0)
                    x |= -1L << (5 * k);
            }
            if (m > 2)
                x += runs[m - 2];
            if (x < 0 || x > uint.MaxValue)
                throw new FormatException($"RLE counts string decodes to an invalid run length {x} (run {m})");
            runs[m++] = (uint)x;
        }
        return new Rle(height, width, runs[..m]);
    }

    /// <summary>
    /// Builds an RLE from COCO's uncompressed form <c>{"size":[h,w], "counts":[...]}</c> (used for crowd
    /// ground truth), as pycocotools' frUncompressedRLE.
    /// </summary>
    /// <exception cref="ArgumentException">A count outside 0..2^32-1, or counts that do not sum to height * width.</exception>
    public static Rle FromUncompressed(IReadOnlyList<long> counts, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(counts);
        Rle.CheckSize(height, width);
        var runs = new uint[counts.Count];
        for (int i = 0; i < runs.Length; i++)
        {
            long c = counts[i];
            if (c < 0 || c > uint.MaxValue)
                throw new ArgumentException($"RLE count {c} at index {i} is not a run length", nameof(counts));
            runs[i] = (uint)c;
        }
        return new Rle(height, width, runs);
    }

    static int CheckMaskSize(int length, int height, int width)
    {
        Rle.CheckSize(height, width);
        long pixels = (long)height * width;
        if (pixels != length)
            throw new ArgumentException($"mask has {length} bytes but {height}x{width} needs {pixels}");
        return (int)pixels;
    }
}
