using PixelBox.Tests.Data;

namespace PixelBox.Tests.IO;

/// <summary>The one opener of user input files: regular readable files only, every other case one line.</summary>
public class InputFileTests
{
    [Fact]
    public void A_fifo_is_refused_without_blocking()
    {
        using var tmp = new TempDir();
        var fifo = SpecialFiles.Fifo(tmp.Combine("gt.json"));
        var e = Assert.Throws<InputException>(() => InputFile.OpenRead(fifo));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", e.Message);
        Assert.Equal(e.Message, Assert.Throws<InputException>(() => InputFile.CheckRegular(fifo)).Message);
    }

    [Fact]
    public void A_socket_a_device_and_a_folder_are_refused()
    {
        using var tmp = new TempDir();
        var socketPath = tmp.Combine("s.json");
        using (SpecialFiles.UnixSocket(socketPath))
            Assert.Equal($"{socketPath}: is a socket, not a regular file", Assert.Throws<InputException>(() => InputFile.OpenRead(socketPath)).Message);
        Assert.Equal("/dev/zero: is a character device, not a regular file", Assert.Throws<InputException>(() => InputFile.OpenRead("/dev/zero")).Message);
        Assert.Equal($"{tmp.Path}: is a folder, not a file", Assert.Throws<InputException>(() => InputFile.ReadAllBytes(tmp.Path, 100)).Message);
        Assert.Equal($"{tmp.Path}: is a folder, not a file", Assert.Throws<InputException>(() => InputFile.CheckRegular(tmp.Path)).Message);
    }

    [Fact]
    public void Missing_files_say_so()
    {
        using var tmp = new TempDir();
        var missing = tmp.Combine("nope.json");
        Assert.Equal($"{missing}: file not found", Assert.Throws<InputException>(() => InputFile.OpenRead(missing)).Message);
        File.WriteAllText(tmp.Combine("file"), "x");
        var under = tmp.Combine("file", "x.json");
        Assert.Equal($"{under}: file not found (a part of the path is not a folder)", Assert.Throws<InputException>(() => InputFile.OpenRead(under)).Message);
        Assert.Equal($"{missing}: file not found", Assert.Throws<InputException>(() => InputFile.CheckRegular(missing)).Message);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void An_unreadable_file_is_a_permission_problem_not_a_missing_file()
    {
        using var tmp = new TempDir();
        var path = SpecialFiles.Unreadable(tmp.Path);
        if (path is null)
            return; // no file on this machine refuses reading (nothing to test)
        Assert.Equal($"{path}: permission denied (the file cannot be read)", Assert.Throws<InputException>(() => InputFile.OpenRead(path)).Message);
    }

    [Fact]
    public void A_file_over_the_limit_is_refused_before_reading()
    {
        using var tmp = new TempDir();
        var huge = SpecialFiles.Sparse(tmp.Combine("classes.txt"), 2L << 30);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InputException>(() => InputFile.ReadAllLines(huge));
        Assert.Equal($"{huge}: file is too large (2 GB; a text list is at most 256 MB)", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void Text_lists_are_utf8_lines()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("classes.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "sky\r\nr\u00f6ad\ncar\n"u8]);
        Assert.Equal(["sky", "r\u00f6ad", "car"], InputFile.ReadAllLines(path));
        File.WriteAllBytes(path, "a\nb"u8.ToArray());
        Assert.Equal(["a", "b"], InputFile.ReadAllLines(path));
        File.WriteAllBytes(path, [(byte)'a', 0xFF, (byte)'\n']);
        Assert.Equal($"{path}: not a UTF-8 text file", Assert.Throws<InputException>(() => InputFile.ReadAllLines(path)).Message);
        File.WriteAllBytes(path, []);
        Assert.Empty(InputFile.ReadAllLines(path));
    }
}
