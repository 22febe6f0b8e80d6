namespace PixelBox;

/// <summary>
/// Writes files so a crash never leaves a half-written output: temp file in the same folder, flushed,
/// then renamed over the target. Only regular files are replaced: a symbolic link is written through
/// (its target is replaced and the link kept), a folder, FIFO or device is refused (<see cref="OutputPaths"/>),
/// and a failure of the environment (permissions, full disk) is an <see cref="InputException"/> naming the path.
/// </summary>
public static class AtomicFile
{
    public static void WriteAllBytes(string path, byte[] bytes) =>
        Write(path, s => s.Write(bytes));

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>Lets <paramref name="write"/> fill a temp file beside <paramref name="path"/>, flushes it to disk, then renames it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var target = OutputPaths.ResolveFile(path);
        var dir = Path.GetDirectoryName(target)!;
        var tmp = Path.Combine(dir, $"{TempPrefix(target)}{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                KillSwitch.Point(KillSwitch.AtomicWrite);
                fs.Flush(flushToDisk: true);
            }
            KeepMode(target, tmp);
            File.Move(tmp, target, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
            if (OutputPaths.IsWriteFailure(e))
                throw OutputPaths.WriteFailure(path, e);
            throw;
        }
    }

    /// <summary>
    /// Deletes temp files that writes of <paramref name="path"/> left behind when their process was killed
    /// (".NAME.PID.GUID.tmp" beside it, PID no longer running); those of live processes are left alone.
    /// </summary>
    public static void DeleteStaleTempFiles(string path)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            return;
        var prefix = TempPrefix(full);
        foreach (var temp in Directory.EnumerateFiles(dir, prefix + "*.tmp"))
        {
            var pidText = Path.GetFileName(temp)[prefix.Length..].Split('.')[0];
            if (!int.TryParse(pidText, out var pid) || IsRunning(pid))
                continue;
            try { File.Delete(temp); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    static string TempPrefix(string target) => $".{Path.GetFileName(target)}.";

    static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
            return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A replaced file keeps its permissions (a new one gets the default).</summary>
    static void KeepMode(string target, string tmp)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(target))
            return;
        File.SetUnixFileMode(tmp, File.GetUnixFileMode(target));
    }
}
