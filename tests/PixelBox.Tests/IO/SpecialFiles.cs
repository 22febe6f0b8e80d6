using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace PixelBox.Tests.IO;

/// <summary>Files a user might name by mistake: FIFOs, sockets, huge sparse files, unreadable files.</summary>
static class SpecialFiles
{
    [DllImport("libc", SetLastError = true)]
    static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

    /// <summary>A named pipe with no writer: opening it for reading the usual way blocks forever.</summary>
    public static string Fifo(string path)
    {
        if (mkfifo(path, 0x1B6) != 0)
            throw new IOException($"mkfifo {path}: errno {Marshal.GetLastPInvokeError()}");
        return path;
    }

    /// <summary>A listening Unix socket at <paramref name="path"/> (dispose the socket after the test).</summary>
    public static Socket UnixSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>A file of <paramref name="length"/> zero bytes that takes no disk space (sparse).</summary>
    public static string Sparse(string path, long length)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        file.SetLength(length);
        return path;
    }

    /// <summary>
    /// A regular file whose open for reading fails with EACCES, or null if none can be had: a file with no
    /// permissions when not root; as root (which ignores permissions), a write-only sysctl, which the kernel
    /// refuses to read even to root.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public static string? Unreadable(string dir)
    {
        var candidates = new List<string>();
        var plain = Path.Combine(dir, "unreadable.json");
        File.WriteAllText(plain, "[]");
        File.SetUnixFileMode(plain, UnixFileMode.None);
        candidates.Add(plain);
        candidates.Add("/proc/sys/vm/compact_memory");
        foreach (var path in candidates)
        {
            try
            {
                using (File.OpenRead(path)) { }
            }
            catch (UnauthorizedAccessException)
            {
                return path;
            }
            catch (IOException)
            {
            }
        }
        return null;
    }
}
