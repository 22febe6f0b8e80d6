using System.Buffers.Binary;
using System.IO.Compression;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// Mutations that keep a PNG past its checksums, so the decoder's later stages see them: a header field set
/// to an extreme value, the inflated image data changed and deflated again, a chunk's data changed, a
/// chunk dropped or repeated, then every CRC recomputed. Non-PNG input gets plain byte mutations.
/// </summary>
static class PngMutator
{
    static readonly byte[] Signature = [137, 80, 78, 71, 13, 10, 26, 10];

    public static byte[] Mutate(byte[] png, Random random)
    {
        if (png.Length < 8 || !png.AsSpan(0, 8).SequenceEqual(Signature) || ReadChunks(png) is not { Count: > 0 } chunks)
            return Mutator.Mutate(png, random, [], [], 1 << 16);
        switch (random.Next(5))
        {
            case 0:
                {
                    var ihdr = chunks.FindIndex(c => c.Type == "IHDR");
                    if (ihdr < 0 || chunks[ihdr].Data.Length < 13)
                        break;
                    var data = chunks[ihdr].Data;
                    int field = random.Next(5);
                    int[] sizes = [0, 1, 2, 7, 8, 9, 255, 256, 16384, 16385, 65535, 100000, 1 << 20, int.MaxValue, -1];
                    if (field < 2)
                        BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(4 * field), sizes[random.Next(sizes.Length)]);
                    else
                        data[6 + field] = (byte)(random.Next(2) == 0 ? random.Next(256) : new[] { 0, 1, 2, 3, 4, 6, 8, 16 }[random.Next(8)]);
                    break;
                }
            case 1:
                {
                    // the image data inflated, mutated (filter bytes, pixels, length), deflated again in one IDAT
                    var raw = Inflate(chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray());
                    if (raw is null)
                        break;
                    var mutated = Mutator.Mutate(raw, random, [], [[0], [1], [2], [3], [4], [5], [255]], 1 << 20);
                    int first = chunks.FindIndex(c => c.Type == "IDAT");
                    chunks.RemoveAll(c => c.Type == "IDAT");
                    chunks.Insert(first < 0 ? Math.Min(1, chunks.Count) : first, new Chunk("IDAT", Deflate(mutated)));
                    break;
                }
            case 2:
                {
                    int i = random.Next(chunks.Count);
                    chunks[i] = chunks[i] with { Data = Mutator.Mutate(chunks[i].Data, random, [], [], 1 << 16) };
                    break;
                }
            case 3:
                {
                    int i = random.Next(chunks.Count);
                    if (random.Next(2) == 0)
                        chunks.RemoveAt(i);
                    else
                        chunks.Insert(random.Next(chunks.Count + 1), chunks[i]);
                    break;
                }
            default:
                return Mutator.Mutate(png, random, [], [], 1 << 16);
        }
        return Write(chunks);
    }

    sealed record Chunk(string Type, byte[] Data);

    static List<Chunk>? ReadChunks(byte[] png)
    {
        var chunks = new List<Chunk>();
        int pos = 8;
        while (pos + 12 <= png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            if (length < 0 || pos + 12L + length > png.Length)
                return null;
            chunks.Add(new Chunk(System.Text.Encoding.Latin1.GetString(png, pos + 4, 4), png.AsSpan(pos + 8, length).ToArray()));
            pos += 12 + length;
        }
        return chunks;
    }

    static byte[] Write(List<Chunk> chunks)
    {
        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> word = stackalloc byte[4];
        foreach (var (type, data) in chunks)
        {
            BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
            output.Write(word);
            var typeAndData = new byte[4 + data.Length];
            System.Text.Encoding.Latin1.GetBytes(type, typeAndData);
            data.CopyTo(typeAndData, 4);
            output.Write(typeAndData);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
            output.Write(word);
        }
        return output.ToArray();
    }

    static byte[]? Inflate(byte[] compressed)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var raw = new MemoryStream();
            var buffer = new byte[4096];
            int n;
            while ((n = z.Read(buffer)) > 0)
            {
                raw.Write(buffer, 0, n);
                if (raw.Length > 1 << 20)
                    return null;
            }
            return raw.ToArray();
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            return null; // not inflatable (zlib's errors come as either)
        }
    }

    static byte[] Deflate(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var z = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
            z.Write(raw);
        return output.ToArray();
    }

    static readonly uint[] CrcTable = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data)
            c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
