using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace PixelBox.Coco;

/// <summary>
/// A file's bytes as read-only memory mapped from the page cache: no copy into a fresh buffer, whose
/// page faults (each new 4 KB page) cost more than parsing it on a VM. Small files are simply read.
/// </summary>
sealed unsafe class MappedFile : MemoryManager<byte>
{
    // below this, one read is cheaper than setting up a mapping
    const long MapMinBytes = 1 << 20;

    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _pointer;
    readonly int _length;
    readonly byte[]? _bytes;

    MappedFile(byte[] bytes) => (_bytes, _length) = (bytes, bytes.Length);

    MappedFile(MemoryMappedFile map, MemoryMappedViewAccessor view, int length)
    {
        _map = map;
        _view = view;
        _length = length;
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _pointer = pointer + view.PointerOffset;
    }

    /// <summary>
    /// Opens (maps or reads) a regular file (<see cref="InputFile"/>); an unreadable one, or one over 2 GB
    /// (beyond what a span can hold), is an <see cref="InputException"/>.
    /// </summary>
    public static MappedFile Open(string path, string what)
    {
        var stream = InputFile.OpenRead(path);
        try
        {
            long length = stream.Length;
            InputFile.CheckSize(path, length, int.MaxValue, what);
            if (length < MapMinBytes)
            {
                var bytes = new byte[length];
                InputFile.ReadExactly(stream, path, bytes);
                stream.Dispose();
                return new MappedFile(bytes);
            }
            var map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            try
            {
                return new MappedFile(map, map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read), (int)length);
            }
            catch
            {
                map.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            stream.Dispose();
            throw new InputException(path, "cannot read the file: " + e.Message, e);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    public int Length => _length;

    public override Span<byte> GetSpan() => _bytes ?? new Span<byte>(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) =>
        _bytes is not null ? new Memory<byte>(_bytes).Slice(elementIndex).Pin() : new MemoryHandle(_pointer + elementIndex);

    public override void Unpin() { }

    protected override void Dispose(bool disposing)
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
