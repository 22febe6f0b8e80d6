using System.Buffers.Binary;
using System.IO.Compression;
using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Tests.Data;
using PixelBox.Tests.IO;

namespace PixelBox.Tests.Imaging;

/// <summary>
/// Image headers that lie: a tiny PNG claiming 100000x100000 is refused from its header (mask reader and
/// RGB path) before any pixel memory, damaged headers give one line, and large real images still work.
/// </summary>
public class ImageHardeningTests
{
    /// <summary>A PNG with the given header and (compressed) image data; CRCs correct.</summary>
    static byte[] Png(int width, int height, byte bitDepth, byte colorType, byte[] raw, int ihdrLength = 13)
    {
        using var output = new MemoryStream();
        output.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var ihdr = new byte[ihdrLength];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = bitDepth;
        ihdr[9] = colorType;
        Chunk(output, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                z.Write(raw);
            Chunk(output, "IDAT", compressed.ToArray());
        }
        Chunk(output, "IEND", []);
        return output.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc(typeAndData));
        s.Write(word);
    }

    static uint Crc(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void A_mask_claiming_100000x100000_fails_from_its_header()
    {
        var png = Png(100000, 100000, 8, 0, new byte[64]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => IndexMaskPng.Decode(png, "huge.png"));
        Assert.Equal("huge.png: image is 100000x100000 = 10000000000 pixels, more than the 268435456 supported (e.g. 16384x16384)", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_mask_whose_data_is_far_too_short_for_its_size_fails_before_allocating()
    {
        var png = Png(16000, 16000, 8, 3, new byte[100]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => IndexMaskPng.Decode(png, "short.png"));
        Assert.Equal("short.png: corrupt PNG (the image data is too short for a 16000x16000 image)", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void Damaged_mask_headers_give_one_line()
    {
        Assert.Equal("a.png: corrupt PNG (IHDR chunk of 12 bytes, not 13)",
            Assert.Throws<InputException>(() => IndexMaskPng.Decode(Png(4, 4, 8, 0, new byte[20], ihdrLength: 12), "a.png")).Message);
        Assert.Equal("b.png: invalid image size -5x4",
            Assert.Throws<InputException>(() => IndexMaskPng.Decode(Png(-5, 4, 8, 0, new byte[20]), "b.png")).Message);
        Assert.Equal("c.png: corrupt PNG (image data does not decompress to the declared size)",
            Assert.Throws<InputException>(() => IndexMaskPng.Decode(Png(4, 4, 8, 0, new byte[7]), "c.png")).Message);
    }

    [Fact]
    public void A_real_8000x8000_mask_round_trips()
    {
        const int side = 8000;
        var pixels = new byte[side * side];
        for (int y = 0; y < side; y++)
            pixels.AsSpan(y * side, side).Fill((byte)(y / 1000));
        var mask = IndexMaskPng.Decode(IndexMaskPng.Encode(new IndexMask(side, side, pixels), IndexMaskPng.VocPalette), "big.png");
        Assert.Equal((side, side), (mask.Width, mask.Height));
        Assert.Equal(pixels, mask.Pixels);
    }

    [Fact]
    public void An_rgb_image_claiming_100000x100000_fails_from_its_header()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("huge.png");
        File.WriteAllBytes(path, Png(100000, 100000, 8, 2, new byte[64]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => RgbImageFile.Read(path));
        Assert.Equal($"{path}: image is 100000x100000 = 10000000000 pixels, more than the 268435456 supported (e.g. 16384x16384)", e.Message);
        Assert.Equal(e.Message, Assert.Throws<InputException>(() => RgbImageFile.ReadSize(path)).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void An_rgb_image_too_small_for_the_size_it_claims_is_refused_before_decoding()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("forged.png");
        File.WriteAllBytes(path, Png(16000, 16000, 8, 2, new byte[64]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => RgbImageFile.Read(path));
        Assert.StartsWith($"{path}: implausible image: the header claims 16000x16000 pixels for a file of ", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_tiny_gif_on_a_huge_canvas_is_refused_before_decoding()
    {
        // found by the fuzzer: a 12 KB GIF whose screen is 14136x14433 took 17 s and 830 MB to decode
        using var tmp = new TempDir();
        var path = tmp.Combine("canvas.gif");
        File.WriteAllBytes(path, [.. "GIF87a"u8, 0x38, 0x37, 0x61, 0x38, 0, 0, 0, // screen 14136 x 14433, no colour table
            0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0, 0x3B]); // one 1x1 frame
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => RgbImageFile.Read(path));
        Assert.Equal($"{path}: implausible image: the header claims 14136x14433 pixels for a file of 29 bytes (truncated or forged?)", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_real_8000x8000_rgb_image_decodes()
    {
        const int side = 8000;
        var pixels = new byte[3L * side * side];
        for (int y = 0; y < side; y++)
            pixels.AsSpan(3 * y * side, 3 * side).Fill((byte)(y / 32));
        using var tmp = new TempDir();
        var path = tmp.Combine("big.png");
        RgbImageFile.WritePng(path, new RgbImage(side, side, pixels));
        Assert.Equal((side, side), RgbImageFile.ReadSize(path));
        var image = RgbImageFile.Read(path);
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void A_fifo_or_a_huge_sparse_file_as_an_image_fails_at_once()
    {
        using var tmp = new TempDir();
        var fifo = SpecialFiles.Fifo(tmp.Combine("a.png"));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Assert.Throws<InputException>(() => RgbImageFile.ReadSize(fifo)).Message);
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Assert.Throws<InputException>(() => IndexMaskPng.Read(fifo)).Message);
        var sparse = SpecialFiles.Sparse(tmp.Combine("b.png"), 2L << 30);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal($"{sparse}: not a PNG file", Assert.Throws<InputException>(() => IndexMaskPng.Read(sparse)).Message);
        Assert.Equal($"{sparse}: file is too large (2 GB; an image is at most 1.1 GB)", Assert.Throws<InputException>(() => RgbImageFile.Read(sparse)).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }
}
