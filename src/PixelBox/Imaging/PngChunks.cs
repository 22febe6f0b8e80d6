using System.Buffers.Binary;
using System.Text;

namespace PixelBox.Imaging;

/// <summary>The PNG container shared by our encoders: signature, length/type/data/CRC chunks.</summary>
internal static class PngChunks
{
    public static ReadOnlySpan<byte> Signature => [137, 80, 78, 71, 13, 10, 26, 10];

    public static void Write(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, data.Length);
        Encoding.ASCII.GetBytes(type, header[4..]);
        s.Write(header);
        s.Write(data);
        // The CRC covers the chunk type and data, not the length.
        uint crc = Finish(Update(Update(0xFFFFFFFFu, header[4..]), data));
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crcBytes, crc);
        s.Write(crcBytes);
    }

    public static uint Crc32(ReadOnlySpan<byte> data) => Finish(Update(0xFFFFFFFFu, data));

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint Update(uint c, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c;
    }

    static uint Finish(uint c) => c ^ 0xFFFFFFFFu;

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
