namespace PixelBox;

/// <summary>
/// Checks where outputs go before anything is written, so that a user's mistake (an output named like a
/// folder, a path under a file, a FIFO or device, a read-only folder, a full disk) is one line naming the
/// path instead of a stack trace, and nothing but regular files is ever replaced.
/// </summary>
public static class OutputPaths
{
    const int ENOSPC = 28, EROFS = 30, EDQUOT = 122;

    /// <summary>
    /// The file an output written to <paramref name="path"/> really lands in: the path itself, or for a
    /// symbolic link its final target (written through, so the link survives). Refuses folders and
    /// anything that is not a regular file (FIFO, device, socket), and paths whose parent is a file.
    /// </summary>
    public static string ResolveFile(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new InputException("(output)", "empty output path");
        var full = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(path))
            throw new InputException(path, "names a folder; give a file name");
        var kind = FileKinds.Of(full, followLinks: false);
        if (kind == FileKind.SymbolicLink)
        {
            var final = new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
            full = final;
            kind = FileKinds.Of(full, followLinks: false);
        }
        switch (kind)
        {
            case FileKind.Missing or FileKind.Regular:
                break;
            case FileKind.Directory:
                throw new InputException(path, "is a folder; give a file name");
            default:
                throw new InputException(path, $"is {FileKinds.Describe(kind)}; outputs replace regular files only");
        }
        CheckAncestors(Path.GetDirectoryName(full)!, path);
        return full;
    }

    /// <summary>Creates the output folder <paramref name="path"/> (and its parents) or explains in one line why it can't.</summary>
    public static string CreateFolder(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new InputException("(output)", "empty output folder");
        var full = Path.GetFullPath(path);
        var kind = FileKinds.Of(full);
        if (kind is not (FileKind.Missing or FileKind.Directory))
            throw new InputException(path, $"is {FileKinds.Describe(kind)}, not a folder");
        CheckAncestors(full, path);
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailure(path, e);
        }
        return full;
    }

    /// <summary>
    /// The one-line error for an exception raised while writing <paramref name="path"/>: permissions, a
    /// read-only file system, a full disk or quota. Anything else is returned unchanged in an
    /// InputException only when it is an I/O failure of the environment.
    /// </summary>
    public static InputException WriteFailure(string path, Exception e) => e switch
    {
        InputException input => input,
        UnauthorizedAccessException => new InputException(path, "permission denied (cannot write here)", e),
        IOException { HResult: ENOSPC } => new InputException(path, "no space left on the device", e),
        IOException { HResult: EDQUOT } => new InputException(path, "disk quota exceeded", e),
        IOException { HResult: EROFS } => new InputException(path, "read-only file system", e),
        _ => new InputException(path, $"cannot write ({e.Message})", e),
    };

    /// <summary>Whether an exception raised while writing is the environment's (to report as a user error) rather than ours.</summary>
    public static bool IsWriteFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    /// <summary>The nearest existing ancestor of <paramref name="folder"/> must be a folder (not a file).</summary>
    static void CheckAncestors(string folder, string shownPath)
    {
        for (var dir = folder; !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            var kind = FileKinds.Of(dir);
            if (kind == FileKind.Missing)
                continue;
            if (kind != FileKind.Directory)
                throw new InputException(shownPath, $"cannot be created: {dir} is {FileKinds.Describe(kind)}, not a folder");
            return;
        }
    }
}
