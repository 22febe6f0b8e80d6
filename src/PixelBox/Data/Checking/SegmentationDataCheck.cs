using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>Image sizes of a split: the smallest and largest (by pixel count) and the most common, with how many images have it.</summary>
public sealed record ImageSizeStats((int Width, int Height) Min, (int Width, int Height) Max, (int Width, int Height) MostCommon, int MostCommonCount)
{
    public static ImageSizeStats? Of(IEnumerable<(int Width, int Height)> sizes)
    {
        var list = sizes.ToList();
        if (list.Count == 0) return null;
        var byArea = list.OrderBy(s => (long)s.Width * s.Height).ThenBy(s => s.Width).ToList();
        var common = list.GroupBy(s => s).OrderByDescending(g => g.Count()).ThenBy(g => (long)g.Key.Width * g.Key.Height).First();
        return new ImageSizeStats(byArea[0], byArea[^1], common.Key, common.Count());
    }
}

/// <summary>
/// Checks a segmentation dataset: lists every split collecting pairing problems (missing masks or images, ids of
/// split files without files, duplicates), then decodes every mask and image (or reads the image's header) to find
/// broken files, mask/image size mismatches and mask values that are no label of the format, and counts pixels per
/// class, image sizes per split, masks without a labelled pixel and classes without pixels.
/// </summary>
public static class SegmentationDataCheck
{
    /// <summary>What one pair gave: its size (null when unreadable) and the stored values' histogram (null when the mask is unreadable).</summary>
    sealed record PairResult((int Width, int Height)? Size, long[]? StoredHistogram);

    public static DataCheckReport Run(string root, SegmentationFormat format, DataCheckOptions options)
    {
        var log = new IssueLog(collectErrors: true);
        var splitNames = format.Splits(root);
        var splits = splitNames.Count == 0 ? [null] : splitNames.Select(s => (string?)s).ToArray();
        var sources = splits.Select(s => (Name: s ?? "all", Source: format.Read(root, s, log))).ToArray();
        var first = sources[0].Source;
        foreach (var (name, source) in sources.Skip(1))
            if (!source.ClassNames.Value.SequenceEqual(first.ClassNames.Value))
                log.Report(IssueKinds.Malformed, source.Root, $"split '{name}' has other classes than split '{sources[0].Name}' ({string.Join(", ", source.ClassNames.Value)})");

        // each pair once, however many splits list it (VOC's trainval repeats train and val)
        var indexOf = new Dictionary<SegmentationEntry, int>();
        var unique = new List<(SegmentationEntry Entry, SegmentationSource Source)>();
        foreach (var (_, source) in sources)
            foreach (var entry in source.Entries)
                if (indexOf.TryAdd(entry, unique.Count)) unique.Add((entry, source));
        var results = Check(unique, options, log);

        var names = first.Mapping == LabelMapping.Identity ? NumberedNames(results) : first.ClassNames.Value;
        var histogram = new long[names.Count];
        var empty = new bool[unique.Count];
        for (int i = 0; i < unique.Count; i++)
            if (results[i].StoredHistogram is { } stored && AddLabels(stored, unique[i].Source.Mapping, histogram) == 0)
            {
                empty[i] = true;
                log.Report(IssueKinds.EmptyImage, unique[i].Entry.ImagePath, "its mask has no labelled pixel (all 255 = ignore)");
            }
        for (int k = 0; k < histogram.Length; k++)
            if (histogram[k] == 0) log.Report(IssueKinds.UnusedClass, first.Root, $"class {k} '{names[k]}' has no pixels");

        return new DataCheckReport
        {
            Format = format.Name,
            Task = "segmentation",
            Root = Path.GetFullPath(root),
            Splits = sources.Select(s => new SplitCount(s.Name, s.Source.Entries.Count, null, s.Source.Entries.Count(e => empty[indexOf[e]]))
            {
                Sizes = ImageSizeStats.Of(s.Source.Entries.Select(e => results[indexOf[e]].Size).OfType<(int, int)>()),
            }).ToArray(),
            Images = unique.Count,
            ClassUnit = "pixels",
            Classes = Enumerable.Range(0, names.Count).Select(k => new ClassCount(k, names[k], first.CategoryIds?[k], histogram[k])).ToArray(),
            Problems = DataCheckReport.Summarize(log.Issues.Distinct()), // every split's listing reports a shared folder's problems again
            DecodedImages = options.DecodeImages,
        };
    }

    static PairResult[] Check(List<(SegmentationEntry Entry, SegmentationSource Source)> pairs, DataCheckOptions options, IssueLog log)
    {
        var results = new PairResult[pairs.Count];
        int done = 0;
        Parallel.For(0, pairs.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            results[i] = CheckPair(pairs[i].Entry, pairs[i].Source, options, log);
            options.Progress?.Report((Interlocked.Increment(ref done), pairs.Count));
        });
        return results;
    }

    static PairResult CheckPair(SegmentationEntry entry, SegmentationSource source, DataCheckOptions options, IssueLog log)
    {
        (int Width, int Height)? size = null;
        try
        {
            size = options.DecodeImages ? Decoded(entry.ImagePath) : RgbImageFile.ReadSize(entry.ImagePath);
        }
        catch (InputException e)
        {
            log.Report(File.Exists(entry.ImagePath) ? IssueKinds.BrokenImage : IssueKinds.MissingImage, entry.ImagePath, Problem(e, entry.ImagePath));
        }
        IndexMask mask;
        try
        {
            mask = source.Masks.Read(entry);
        }
        catch (InputException e)
        {
            log.Report(source.Masks.BrokenKind, entry.MaskPath, Problem(e, entry.MaskPath));
            return new PairResult(size, null);
        }
        if (size is { } s && (s.Width != mask.Width || s.Height != mask.Height))
        {
            var (file, problem) = source.Masks.SizeMismatch(entry, (mask.Width, mask.Height), s);
            log.Report(IssueKinds.SizeMismatch, file, problem);
        }
        var stored = new long[256];
        foreach (var v in mask.Pixels) stored[v]++;
        long unknown = Enumerable.Range(0, 256).Where(v => source.Mapping.LabelOf((byte)v) is null).Sum(v => stored[v]);
        if (unknown > 0)
            log.Report(IssueKinds.LabelOutOfRange, entry.MaskPath,
                $"{source.Mapping.Problem(mask, source.Mapping.FirstUnknown(mask.Pixels))} ({unknown} such pixel{(unknown == 1 ? "" : "s")})");
        return new PairResult(size ?? (mask.Width, mask.Height), stored);
    }

    /// <summary>Adds the pixels of each label to <paramref name="histogram"/>; returns the labelled (not ignored, known) pixels.</summary>
    static long AddLabels(long[] stored, LabelMapping mapping, long[] histogram)
    {
        long labelled = 0;
        for (int v = 0; v < 256; v++)
            if (stored[v] > 0 && mapping.LabelOf((byte)v) is byte label && label < histogram.Length)
            {
                histogram[label] += stored[v];
                labelled += stored[v];
            }
        return labelled;
    }

    /// <summary>A mask folder without classes.txt: "class 0" .. "class K", K the largest label other than 255 found.</summary>
    static IReadOnlyList<string> NumberedNames(PairResult[] results)
    {
        int max = 0;
        foreach (var r in results)
            if (r.StoredHistogram is { } h)
                for (int v = 0; v < MaskFolderDataset.IgnoreLabel; v++)
                    if (h[v] > 0) max = Math.Max(max, v);
        return MaskFolderDataset.NumberedClassNames(max + 1);
    }

    static string Problem(InputException e, string file)
    {
        var prefix = file + ": ";
        return e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
    }

    static (int, int) Decoded(string path)
    {
        var image = RgbImageFile.Read(path);
        return (image.Width, image.Height);
    }
}
