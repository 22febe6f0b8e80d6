using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace PixelBox;

/// <summary>
/// The one way to open a file a user names as input: it must be a regular file that can be read. Anything
/// else is an <see cref="InputException"/> with one line naming the file and the problem: a missing file, a
/// folder given as a file, a FIFO, socket or device (opening a FIFO would block until a writer appears, and
/// a device such as /dev/zero never ends), a file without read permission, or one larger than the caller
/// accepts.
/// </summary>
/// <remarks>
/// On Linux the file is opened non-blocking and its type is taken from the open descriptor
/// (<see cref="FileKinds"/>), so a FIFO is refused without waiting and nothing can swap the file between the
/// check and the read. Elsewhere .NET's own open is used after a folder check.
/// </remarks>
public static class InputFile
{
    /// <summary>Text lists (class names, split files) larger than this are refused rather than read.</summary>
    public const long MaxTextBytes = 256L << 20;

    /// <summary>Opens a regular file for reading (the stream is positioned at 0).</summary>
    public static FileStream OpenRead(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
            throw new InputException("(empty path)", "no file name given");
        if (OperatingSystem.IsLinux())
            return OpenReadLinux(path);
        if (Directory.Exists(path))
            throw new InputException(path, "is a folder, not a file");
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw Problem(path, e);
        }
    }

    /// <summary>The file's bytes; a file larger than <paramref name="maxBytes"/> is refused before reading.</summary>
    /// <param name="what">What the file should be, for the size message ("a PNG mask", ...).</param>
    public static byte[] ReadAllBytes(string path, long maxBytes, string what = "an input file")
    {
        using var stream = OpenRead(path);
        long length = stream.Length;
        CheckSize(path, length, maxBytes, what);
        var bytes = new byte[length];
        ReadExactly(stream, path, bytes);
        return bytes;
    }

    /// <summary>Refuses a length above <paramref name="maxBytes"/> (or above what one array can hold).</summary>
    public static void CheckSize(string path, long length, long maxBytes, string what = "an input file")
    {
        long limit = Math.Min(maxBytes, Array.MaxLength);
        if (length > limit)
            throw new InputException(path, $"file is too large ({FormatBytes(length)}; {what} is at most {FormatBytes(limit)})");
    }

    /// <summary>Fills <paramref name="buffer"/> from the stream; a read error or a file that shrank is an <see cref="InputException"/>.</summary>
    public static void ReadExactly(Stream stream, string path, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException)
        {
            throw new InputException(path, "file ended early (was it changed while being read?)");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Problem(path, e);
        }
    }

    /// <summary>The text of a UTF-8 file (a byte order mark is skipped); invalid UTF-8 is refused.</summary>
    /// <param name="what">What the file should be, for the size message ("a text list", "data.yaml", ...).</param>
    public static string ReadAllText(string path, long maxBytes = MaxTextBytes, string what = "a text file")
    {
        var bytes = ReadAllBytes(path, maxBytes, what);
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InputException(path, "not a UTF-8 text file");
        }
        return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
    }

    /// <summary>The lines of a UTF-8 text file (a byte order mark is skipped; \n, \r\n and \r end lines).</summary>
    public static string[] ReadAllLines(string path, long maxBytes = MaxTextBytes, string what = "a text list")
    {
        var text = ReadAllText(path, maxBytes, what);
        if (text.Length == 0)
            return [];
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        // a final line break ends the last line rather than starting an empty one (as File.ReadAllLines)
        return lines[^1].Length == 0 ? lines[..^1] : lines;
    }

    /// <summary>
    /// Checks, without opening it, that <paramref name="path"/> names a regular file (symbolic links followed):
    /// for listings of input folders, where a FIFO or a device among the files is refused up front.
    /// </summary>
    public static void CheckRegular(string path) => CheckKind(path, FileKinds.Of(path));

    static FileStream OpenReadLinux(string path)
    {
        int fd = open(path, ORdOnly | ONonBlock | OCloExec);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            // a socket cannot be opened at all (ENXIO): say what the path is rather than the errno
            if (errno != ENoEnt && FileKinds.Of(path) is var kind and not (FileKind.Missing or FileKind.Regular))
                CheckKind(path, kind);
            throw OpenError(path, errno);
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            if (FileKinds.Of(handle) is { } kind)
                CheckKind(path, kind);
            else if (Directory.Exists(path))
                throw new InputException(path, "is a folder, not a file");
            return new FileStream(handle, FileAccess.Read, 1 << 16);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    static void CheckKind(string path, FileKind kind)
    {
        switch (kind)
        {
            case FileKind.Regular:
                return;
            case FileKind.Missing:
                throw new InputException(path, "file not found");
            case FileKind.Directory:
                throw new InputException(path, "is a folder, not a file");
            default:
                throw new InputException(path, $"is {FileKinds.Describe(kind)}, not a regular file");
        }
    }

    static InputException OpenError(string path, int errno) => errno switch
    {
        ENoEnt => new InputException(path, "file not found"),
        ENotDir => new InputException(path, "file not found (a part of the path is not a folder)"),
        EAcces or EPerm => new InputException(path, "permission denied (the file cannot be read)"),
        _ => new InputException(path, $"cannot open the file: {Marshal.GetPInvokeErrorMessage(errno)}"),
    };

    static InputException Problem(string path, Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => new InputException(path, "file not found", e),
        UnauthorizedAccessException => new InputException(path, "permission denied (the file cannot be read)", e),
        _ => new InputException(path, "cannot read the file: " + e.Message, e),
    };

    static string FormatBytes(long n) => n switch
    {
        >= 1L << 30 => $"{n / (double)(1L << 30):0.#} GB",
        >= 1L << 20 => $"{n / (double)(1L << 20):0.#} MB",
        >= 1L << 10 => $"{n / (double)(1L << 10):0.#} KB",
        _ => $"{n} bytes",
    };

    // ------------------------------------------------------------------ Linux system calls
    const int ORdOnly = 0, ONonBlock = 0x800, OCloExec = 0x80000;
    const int EPerm = 1, ENoEnt = 2, EAcces = 13, ENotDir = 20;

    [DllImport("libc", SetLastError = true)]
    static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
}
