using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PixelBox.Imaging;

namespace PixelBox.Masks;

/// <summary>An index mask: one class label per pixel, row-major (Pixels[y * Width + x]).</summary>
public sealed record IndexMask(int Width, int Height, byte[] Pixels);

/// <summary>
/// Reads and writes single-channel 8-bit index masks as PNG (grayscale or palette), the format of VOC,
/// Cityscapes label ids and most mask folders. Image libraries expand palette PNGs to colours, which
/// loses the class indices, so this small codec keeps the raw indices.
/// </summary>
public static class IndexMaskPng
{
    /// <summary>The PASCAL VOC colour map: 256 RGB triples (index 0 black, 255 light beige for "ignore").</summary>
    public static byte[] VocPalette { get; } = BuildVocPalette();

    /// <summary>Mask files larger than this are refused unread (a mask at the pixel limit stored uncompressed is a quarter of it).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>
    /// Reads a mask file (a regular, readable file: <see cref="InputFile"/>). Anything that is not a PNG fails
    /// on its first 8 bytes, whatever its size.
    /// </summary>
    public static IndexMask Read(string path)
    {
        byte[] bytes;
        using (var file = InputFile.OpenRead(path))
        {
            long length = file.Length;
            Span<byte> signature = stackalloc byte[8];
            if (length < 8)
                throw new InputException(path, "not a PNG file");
            InputFile.ReadExactly(file, path, signature);
            if (!signature.SequenceEqual(PngChunks.Signature))
                throw new InputException(path, "not a PNG file");
            InputFile.CheckSize(path, length, MaxFileBytes, "a PNG mask");
            bytes = new byte[length];
            signature.CopyTo(bytes);
            InputFile.ReadExactly(file, path, bytes.AsSpan(8));
        }
        return Decode(bytes, path);
    }

    /// <summary>Decodes PNG bytes; <paramref name="source"/> names the file in error messages.</summary>
    /// <remarks>
    /// The size the header claims is checked against <see cref="ImageLimits.MaxPixels"/> and against what the
    /// compressed data could hold (deflate expands at most 1032:1) before the pixels are allocated, and rows
    /// are inflated one at a time, so memory stays in proportion to the file.
    /// </remarks>
    public static IndexMask Decode(ReadOnlySpan<byte> png, string source)
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(PngChunks.Signature))
            throw new InputException(source, "not a PNG file");
        int width = 0, height = 0, bitDepth = 0, colorType = -1;
        using var idat = new MemoryStream();
        int pos = 8;
        bool sawEnd = false;
        while (pos + 12 <= png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png[pos..]);
            if (length < 0 || pos + 12L + length > png.Length)
                throw new InputException(source, "corrupt PNG (truncated chunk)");
            var typeAndData = png.Slice(pos + 4, 4 + length);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + length)..]);
            if (PngChunks.Crc32(typeAndData) != crc)
                throw new InputException(source, $"corrupt PNG (bad CRC in {ChunkName(typeAndData[..4])} chunk)");
            var type = typeAndData[..4];
            var data = typeAndData[4..];
            if (colorType < 0 && !type.SequenceEqual("IHDR"u8))
                throw new InputException(source, "corrupt PNG (the first chunk is not IHDR)");
            if (type.SequenceEqual("IHDR"u8))
            {
                if (colorType >= 0)
                    throw new InputException(source, "corrupt PNG (two IHDR chunks)");
                if (data.Length != 13)
                    throw new InputException(source, $"corrupt PNG (IHDR chunk of {data.Length} bytes, not 13)");
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                bitDepth = data[8];
                colorType = data[9];
                if (data[12] != 0)
                    throw new InputException(source, "interlaced PNG masks are not supported; re-save without interlacing");
            }
            else if (type.SequenceEqual("IDAT"u8))
                idat.Write(data);
            else if (type.SequenceEqual("IEND"u8))
                sawEnd = true;
            pos += 12 + length;
            if (sawEnd) break;
        }
        if (colorType < 0 || !sawEnd)
            throw new InputException(source, "corrupt PNG (missing IHDR or IEND)");
        if (colorType != 0 && colorType != 3)
            throw new InputException(source, $"not a single-channel index mask (PNG colour type {ColorTypeName(colorType)}); expected 8-bit grayscale or palette");
        if (bitDepth is not (1 or 2 or 4 or 8))
            throw new InputException(source, $"unsupported PNG bit depth {bitDepth} for an index mask");
        ImageLimits.Check(source, width, height);

        int stride = (int)(((long)width * bitDepth + 7) / 8);
        long rawBytes = (stride + 1L) * height;
        if (rawBytes > MaxDeflateRatio * idat.Length + 1024)
            throw new InputException(source, $"corrupt PNG (the image data is too short for a {width}x{height} image)");

        var pixels = new byte[(long)width * height];
        var line = new byte[stride + 1];
        var prev = new byte[stride];
        var row = new byte[stride];
        try
        {
            idat.Position = 0;
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            for (int y = 0; y < height; y++)
            {
                z.ReadExactly(line);
                Unfilter(line[0], line.AsSpan(1), prev, row, source);
                Unpack(row, bitDepth, pixels.AsSpan((int)((long)y * width), width));
                (prev, row) = (row, prev);
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InputException(source, "corrupt PNG (image data does not decompress to the declared size)");
        }
        return new IndexMask(width, height, pixels);
    }

    /// <summary>Deflate's largest expansion (a 258-byte match per 2 bits): 1032 output bytes per input byte.</summary>
    const long MaxDeflateRatio = 1032;

    static string ChunkName(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
            if (b is < (byte)'A' or > (byte)'z' || b is > (byte)'Z' and < (byte)'a')
                return "a damaged";
        return Encoding.ASCII.GetString(type);
    }

    /// <summary>Writes a palette PNG (8-bit indices), atomically (temp file + rename).</summary>
    public static void Write(string path, IndexMask mask, ReadOnlySpan<byte> palette = default)
    {
        if (mask.Pixels.Length != (long)mask.Width * mask.Height)
            throw new ArgumentException($"mask has {mask.Pixels.Length} pixels, expected {mask.Width}x{mask.Height}");
        var pal = palette.IsEmpty ? VocPalette : palette.ToArray();
        if (pal.Length % 3 != 0 || pal.Length == 0 || pal.Length > 768)
            throw new ArgumentException("palette must hold 1..256 RGB triples");
        var bytes = Encode(mask, pal);
        AtomicFile.WriteAllBytes(path, bytes);
    }

    public static byte[] Encode(IndexMask mask, ReadOnlySpan<byte> palette)
    {
        using var ms = new MemoryStream();
        ms.Write(PngChunks.Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, mask.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), mask.Height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 3; // palette
        PngChunks.Write(ms, "IHDR", ihdr);
        PngChunks.Write(ms, "PLTE", palette);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            {
                // Filter "Up" (2): masks are piecewise constant, so rows mostly repeat and compress to nothing.
                var line = new byte[mask.Width + 1];
                line[0] = 2;
                for (int y = 0; y < mask.Height; y++)
                {
                    var cur = mask.Pixels.AsSpan(y * mask.Width, mask.Width);
                    if (y == 0) cur.CopyTo(line.AsSpan(1));
                    else
                    {
                        var up = mask.Pixels.AsSpan((y - 1) * mask.Width, mask.Width);
                        for (int x = 0; x < cur.Length; x++) line[x + 1] = (byte)(cur[x] - up[x]);
                    }
                    z.Write(line);
                }
            }
            PngChunks.Write(ms, "IDAT", compressed.ToArray());
        }
        PngChunks.Write(ms, "IEND", []);
        return ms.ToArray();
    }

    static void Unfilter(byte filter, ReadOnlySpan<byte> src, ReadOnlySpan<byte> prev, Span<byte> dst, string source)
    {
        // All supported formats have one byte per "pixel" for filtering purposes (bpp = 1).
        switch (filter)
        {
            case 0: src.CopyTo(dst); break;
            case 1:
                for (int i = 0; i < src.Length; i++) dst[i] = (byte)(src[i] + (i > 0 ? dst[i - 1] : 0));
                break;
            case 2:
                for (int i = 0; i < src.Length; i++) dst[i] = (byte)(src[i] + prev[i]);
                break;
            case 3:
                for (int i = 0; i < src.Length; i++) dst[i] = (byte)(src[i] + (((i > 0 ? dst[i - 1] : 0) + prev[i]) >> 1));
                break;
            case 4:
                for (int i = 0; i < src.Length; i++)
                {
                    int a = i > 0 ? dst[i - 1] : 0, b = prev[i], c = i > 0 ? prev[i - 1] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                    dst[i] = (byte)(src[i] + pred);
                }
                break;
            default:
                throw new InputException(source, $"corrupt PNG (unknown row filter {filter})");
        }
    }

    static void Unpack(ReadOnlySpan<byte> row, int bitDepth, Span<byte> dst)
    {
        if (bitDepth == 8) { row[..dst.Length].CopyTo(dst); return; }
        int perByte = 8 / bitDepth, mask = (1 << bitDepth) - 1;
        for (int x = 0; x < dst.Length; x++)
        {
            int shift = 8 - bitDepth * (x % perByte + 1);
            dst[x] = (byte)((row[x / perByte] >> shift) & mask);
        }
    }

    static byte[] BuildVocPalette()
    {
        var pal = new byte[256 * 3];
        for (int i = 0; i < 256; i++)
        {
            int r = 0, g = 0, b = 0, c = i;
            for (int j = 0; j < 8; j++)
            {
                r |= ((c >> 0) & 1) << (7 - j);
                g |= ((c >> 1) & 1) << (7 - j);
                b |= ((c >> 2) & 1) << (7 - j);
                c >>= 3;
            }
            pal[3 * i] = (byte)r; pal[3 * i + 1] = (byte)g; pal[3 * i + 2] = (byte)b;
        }
        return pal;
    }

    static string ColorTypeName(int t) => t switch { 2 => "RGB", 4 => "grayscale+alpha", 6 => "RGBA", _ => t.ToString() };
}
