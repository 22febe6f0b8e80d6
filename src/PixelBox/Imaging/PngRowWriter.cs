using System.Buffers.Binary;
using System.IO.Compression;

namespace PixelBox.Imaging;

/// <summary>
/// Writes an 8-bit grey or RGB PNG row by row onto a stream, holding one row and one 64 KB chunk of compressed
/// data rather than the whole image: for pictures as large as the images predicted by sliding windows. Rows use
/// the "Sub" filter, as <see cref="RgbImageFile.EncodePng"/>; the compressed stream is cut into several IDAT chunks.
/// </summary>
public sealed class PngRowWriter : IDisposable
{
    const int ChunkBytes = 64 << 10;

    readonly IdatStream idat;
    readonly ZLibStream zlib;
    readonly byte[] line;
    readonly int channels;
    int rowsLeft;

    /// <param name="channels">1 (grey) or 3 (RGB).</param>
    public PngRowWriter(Stream output, int width, int height, int channels)
    {
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "1 (grey) or 3 (RGB)");
        ImageLimits.Check("png", width, height);
        this.channels = channels;
        rowsLeft = height;
        output.Write(PngChunks.Signature);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = (byte)(channels == 3 ? 2 : 0); // truecolour or greyscale
        PngChunks.Write(output, "IHDR", ihdr);
        idat = new IdatStream(output);
        zlib = new ZLibStream(idat, CompressionLevel.Fastest, leaveOpen: true);
        line = new byte[width * channels + 1];
        line[0] = 1; // filter "Sub"
    }

    /// <summary>Appends the next row (width x channels bytes).</summary>
    public void WriteRow(ReadOnlySpan<byte> row)
    {
        if (row.Length != line.Length - 1)
            throw new ArgumentException($"a row has {line.Length - 1} bytes, got {row.Length}");
        if (rowsLeft-- <= 0)
            throw new InvalidOperationException("all rows are written");
        row[..channels].CopyTo(line.AsSpan(1));
        for (int i = channels; i < row.Length; i++)
            line[i + 1] = (byte)(row[i] - row[i - channels]);
        zlib.Write(line);
    }

    /// <summary>Ends the image (every row must have been written): the last IDAT chunk and IEND.</summary>
    public void Finish()
    {
        if (rowsLeft != 0)
            throw new InvalidOperationException($"{rowsLeft} rows not written");
        zlib.Dispose();
        idat.Flush();
        PngChunks.Write(idat.Output, "IEND", []);
    }

    public void Dispose() => zlib.Dispose();

    /// <summary>Collects compressed bytes and writes them as IDAT chunks of <see cref="ChunkBytes"/>.</summary>
    sealed class IdatStream(Stream output) : Stream
    {
        readonly byte[] buffer = new byte[ChunkBytes];
        int used;

        public Stream Output => output;

        public override void Write(byte[] data, int offset, int count) => Write(data.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                int take = Math.Min(data.Length, buffer.Length - used);
                data[..take].CopyTo(buffer.AsSpan(used));
                used += take;
                data = data[take..];
                if (used == buffer.Length)
                    Flush();
            }
        }

        public override void Flush()
        {
            if (used == 0)
                return;
            PngChunks.Write(output, "IDAT", buffer.AsSpan(0, used));
            used = 0;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] data, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
