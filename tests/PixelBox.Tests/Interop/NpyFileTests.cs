using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using PixelBox.Interop;
using PixelBox.Tests.Data;
using PixelBox.Tests.Models;

namespace PixelBox.Tests.Interop;

/// <summary>numpy's .npy format v1.0 as written by numpy 1.24's numpy.save, and read back by numpy itself.</summary>
public partial class NpyFileTests
{
    /// <summary>A float32 .npy file read independently of <see cref="NpyFile"/>: version 1.0, '&lt;f4', C order.</summary>
    public static (long[] Shape, float[] Values) ReadFloat32(string path)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], bytes[..8]);
        int headerLength = bytes[8] | bytes[9] << 8;
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        var match = ShapePattern().Match(header);
        Assert.True(match.Success, header);
        var shape = match.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(0, (10 + headerLength) % 64);
        var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(10 + headerLength)).ToArray();
        Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), values.LongLength);
        return (shape, values);
    }

    [GeneratedRegex(@"^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$")]
    private static partial Regex ShapePattern();

    /// <summary>The bytes numpy 1.24 writes for np.save(f, np.zeros((3, 5, 7), np.float32)): header up to the newline.</summary>
    [Fact]
    public void Header_is_numpys_byte_for_byte()
    {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5, 7), }";
        var expected = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 0x76, 0 }
            .Concat(Encoding.ASCII.GetBytes(dict + new string(' ', 118 - dict.Length - 1) + "\n")).ToArray();
        Assert.Equal(128, expected.Length);
        Assert.Equal(expected, NpyFile.Header([3, 5, 7]));
        Assert.All(new long[][] { [1], [2, 3], [21, 181, 243], [123456789012, 1, 1, 1, 1] }, shape => Assert.Equal(0, NpyFile.Header(shape).Length % 64));
    }

    [Fact]
    public void Values_follow_the_header_in_c_order()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("a.npy");
        var values = Enumerable.Range(0, 2 * 3 * 4).Select(i => i * 0.5f - 3).ToArray();
        NpyFile.Write(path, values, [2, 3, 4]);
        var (shape, read) = ReadFloat32(path);
        Assert.Equal([2L, 3, 4], shape);
        Assert.Equal(values, read);
        Assert.Throws<ArgumentException>(() => NpyFile.Write(tmp.Combine("b.npy"), values, [5, 5]));
    }

    /// <summary>numpy.load reads what we write, and our headers are exactly numpy.save's for the same shapes.</summary>
    [PythonTorchFact]
    public void Numpy_loads_it_and_writes_the_same_header()
    {
        using var tmp = new TempDir();
        var shapes = new long[][] { [5, 181, 243], [1], [21, 7, 1000001] };
        var values = Enumerable.Range(0, 5 * 181 * 243).Select(i => MathF.Sin(i * 0.01f) * 100).ToArray();
        NpyFile.Write(tmp.Combine("logits.npy"), values, shapes[0]);
        var script = $$"""
            import io, numpy as np
            a = np.load(r'{{tmp.Combine("logits.npy")}}')
            expected = (np.sin(np.arange(a.size, dtype=np.float32) * np.float32(0.01)) * np.float32(100)).reshape(a.shape)
            print(a.dtype, a.shape, float(np.abs(a - expected).max()))
            for shape in [(5, 181, 243), (1,), (21, 7, 1000001)]:
                b = io.BytesIO(); np.lib.format.write_array_header_1_0(b, {'descr': '<f4', 'fortran_order': False, 'shape': shape})
                print(b.getvalue().hex())
            """;
        var (code, output, error) = PythonTorch.Run(["-c", script], TimeSpan.FromMinutes(2));
        Assert.True(code == 0, error);
        var lines = output.Trim().Split('\n');
        var parts = lines[0].Split(' ', 2);
        Assert.Equal("float32", parts[0]);
        Assert.StartsWith("(5, 181, 243)", parts[1]);
        Assert.True(double.Parse(parts[1].Split(' ')[^1], CultureInfo.InvariantCulture) < 1e-3, lines[0]);
        for (int i = 0; i < shapes.Length; i++)
            Assert.Equal(lines[1 + i].Trim(), Convert.ToHexStringLower(NpyFile.Header(shapes[i])));
    }
}
