using System.Runtime.InteropServices;

namespace PixelBox;

/// <summary>What a path names on disk. .NET reports a FIFO, a device and a regular file alike
/// (FileAttributes.Normal), yet reading a FIFO blocks forever and replacing a device is a disaster.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    SymbolicLink,
    Other,
}

/// <summary>Reads a path's file type with the runtime's own stat wrapper (libSystem.Native, shipped with every .NET).</summary>
public static partial class FileKinds
{
    /// <summary>The kind of the file <paramref name="path"/> names, following symbolic links unless <paramref name="followLinks"/> is false.</summary>
    public static FileKind Of(string path, bool followLinks = true)
    {
        if (OperatingSystem.IsWindows())
            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        int result;
        FileStatus status;
        try
        {
            result = followLinks ? Stat(path, out status) : LStat(path, out status);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // A runtime without the wrapper: fall back to what .NET can tell.
            return Directory.Exists(path) ? FileKind.Directory : File.Exists(path) ? FileKind.Regular : FileKind.Missing;
        }
        return result != 0 ? FileKind.Missing : FromMode(status.Mode);
    }

    /// <summary>The kind of an open file (its descriptor), or null where the runtime's wrapper is missing.</summary>
    internal static FileKind? Of(Microsoft.Win32.SafeHandles.SafeFileHandle handle)
    {
        if (OperatingSystem.IsWindows())
            return null;
        try
        {
            return FStat(handle.DangerousGetHandle(), out var status) == 0 ? FromMode(status.Mode) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    static FileKind FromMode(int mode) =>
        (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0x1000 => FileKind.Fifo,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0xC000 => FileKind.Socket,
            0xA000 => FileKind.SymbolicLink,
            _ => FileKind.Other,
        };

    /// <summary>
    /// The (device, inode) pair of the file <paramref name="path"/> names, following symbolic links: two paths
    /// name one file exactly when these are equal (hard links, links, case-insensitive file systems, bind mounts).
    /// Null when the path does not exist or the platform has no such identity (Windows).
    /// </summary>
    public static (long Device, long Inode)? Identity(string path)
    {
        if (OperatingSystem.IsWindows())
            return null;
        try
        {
            return Stat(path, out var status) == 0 ? (status.Dev, status.Ino) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>How a kind reads in an error message ("a FIFO", "a folder", ...).</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Missing => "missing",
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Socket => "a socket",
        FileKind.SymbolicLink => "a symbolic link",
        _ => "not a regular file",
    };

    /// <summary>libSystem.Native's FileStatus (src/native/libs/System.Native/pal_io.h); Mode uses the portable S_IF* values.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct FileStatus
    {
        public int Flags;
        public int Mode;
        public uint Uid;
        public uint Gid;
        public long Size;
        public long ATime, ATimeNsec, MTime, MTimeNsec, CTime, CTimeNsec, BirthTime, BirthTimeNsec;
        public long Dev, RDev, Ino;
        public uint UserFlags;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_Stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, out FileStatus output);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_LStat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int LStat(string path, out FileStatus output);

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_FStat", SetLastError = true)]
    private static partial int FStat(nint fd, out FileStatus output);
}
