namespace PixelBox.Data;

/// <summary>File listing and split files shared by the segmentation formats.</summary>
internal static class SegmentationFiles
{
    /// <summary>
    /// The files of <paramref name="dir"/> with one of the extensions, by stem. Each must be a regular file: a
    /// FIFO, socket or device among them is refused here, before anything tries to read it (and blocks).
    /// </summary>
    public static SortedDictionary<string, string> ByStem(string dir, IReadOnlyList<string> extensions, IssueLog log, string suffix = "")
    {
        var byStem = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in List(dir))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.')) continue; // hidden and temp files
            if (!extensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase)) continue;
            var stem = Path.GetFileNameWithoutExtension(name);
            if (!stem.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (!log.Guard(path, () => { InputFile.CheckRegular(path); return true; }, false)) continue;
            stem = stem[..^suffix.Length];
            if (byStem.TryGetValue(stem, out var other))
            {
                log.Report(IssueKinds.DuplicateId, path, $"two files with the id '{stem}' ({Path.GetFileName(other)} and {name}); keep one");
                continue;
            }
            byStem.Add(stem, path);
        }
        return byStem;
    }

    /// <summary>The files of a folder in ordinal order; a folder that cannot be listed is an input error.</summary>
    public static List<string> List(string dir, bool subfolders = false)
    {
        try
        {
            return Directory.EnumerateFiles(dir, "*", subfolders ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
                .Order(StringComparer.Ordinal).ToList();
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException(dir, "permission denied (the folder cannot be listed)");
        }
        catch (IOException e)
        {
            throw new InputException(dir, "cannot list the folder: " + e.Message);
        }
    }

    /// <summary>
    /// The ids of a split file (one per line), each in <paramref name="known"/> and listed once; others are
    /// reported (<paramref name="unknown"/> says why an id is not known) and left out.
    /// </summary>
    public static string[] ReadSplit(string file, IReadOnlySet<string> known, Func<string, string> unknown, IssueLog log)
    {
        if (!Path.Exists(file)) throw new InputException(file, "split file not found");
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int listed = 0;
        var lines = InputFile.ReadAllLines(file);
        for (int i = 0; i < lines.Length; i++)
        {
            var id = lines[i].Trim();
            if (id.Length == 0) continue;
            listed++;
            if (!known.Contains(id))
                log.Report(IssueKinds.UnknownImage, file, $"line {i + 1}: {unknown(DatasetFiles.Escaped(id))}");
            else if (!seen.Add(id))
                log.Report(IssueKinds.DuplicateId, file, $"line {i + 1}: id '{id}' is listed twice");
            else
                ids.Add(id);
        }
        if (listed == 0) log.Report(IssueKinds.Malformed, file, "split file lists no ids");
        return ids.ToArray();
    }
}
