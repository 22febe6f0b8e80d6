using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace PixelBox.Interop;

/// <summary>
/// numpy's .npy format, version 1.0, for float32 arrays (what <c>numpy.save</c> writes and <c>numpy.load</c>
/// reads): the magic "\x93NUMPY", version 1 0, a little-endian uint16 header length, the header
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (C, H, W), }</c> padded with spaces (as numpy does) and
/// ended by a newline so that the data starts at a multiple of 64 bytes, then the values in C order, little-endian.
/// </summary>
public static class NpyFile
{
    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
    const int Alignment = 64;

    /// <summary>numpy's spare room after the dictionary, so that the first axis can grow in place (21 digits).</summary>
    const int GrowthAxisMaxDigits = 21;

    /// <summary>The header bytes (magic to newline) of a float32 array of <paramref name="shape"/>, byte for byte
    /// as numpy 1.24's <c>numpy.save</c> writes them (spare spaces for the first axis, then padding to 64).</summary>
    public static byte[] Header(IReadOnlyList<long> shape)
    {
        var dims = shape.Count == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}";
        if (shape.Count > 0)
            dict += new string(' ', Math.Max(0, GrowthAxisMaxDigits - shape[0].ToString(System.Globalization.CultureInfo.InvariantCulture).Length));
        int withNewline = dict.Length + 1;
        int padding = Alignment - (Magic.Length + 2 + withNewline) % Alignment;
        var text = dict + new string(' ', padding) + "\n";
        if (text.Length > ushort.MaxValue)
            throw new ArgumentException("shape too long for a version 1.0 header", nameof(shape));
        var header = new byte[Magic.Length + 2 + text.Length];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(Magic.Length), (ushort)text.Length);
        Encoding.ASCII.GetBytes(text, header.AsSpan(Magic.Length + 2));
        return header;
    }

    /// <summary>Writes <paramref name="values"/> (C order) as a float32 array of <paramref name="shape"/>, atomically.</summary>
    public static void Write(string path, ReadOnlySpan<float> values, IReadOnlyList<long> shape)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != values.Length)
            throw new ArgumentException($"{values.Length} values for shape ({string.Join(", ", shape)})", nameof(values));
        var header = Header(shape);
        var bytes = new byte[header.Length + 4L * values.Length];
        header.CopyTo(bytes, 0);
        var data = bytes.AsSpan(header.Length);
        if (BitConverter.IsLittleEndian)
            MemoryMarshal.AsBytes(values).CopyTo(data);
        else
            for (int i = 0; i < values.Length; i++)
                BinaryPrimitives.WriteSingleLittleEndian(data[(4 * i)..], values[i]);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }
}
