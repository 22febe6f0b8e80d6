namespace PixelBox.Data;

/// <summary>What a conversion wrote and what the target format could not hold (warnings of kind dropped_information).</summary>
public sealed record ConversionResult(string Output, IReadOnlyList<(string Split, int Images, int Objects)> Splits, IReadOnlyList<DataIssue> Issues);

/// <summary>
/// Converts a detection dataset from one format to another: reads it strictly (the first error stops with its
/// one-line message), removes what the target cannot hold (each kind reported once with a count), writes the
/// result into a staging folder beside the output and renames it into place. The output must be new or empty and
/// must not be the input or inside it. Image files are hard-linked when possible, else copied
/// (<see cref="ImageTransfer"/>).
/// </summary>
public static class DetectionDatasetConverter
{
    public static ConversionResult Convert(string input, string from, string output, string to, ImageTransfer transfer = ImageTransfer.Link)
    {
        var source = DetectionFormats.Get(from);
        var target = DetectionFormats.Get(to);
        if (target.Write is null) throw new InputException($"cannot write {to} datasets (writable: {string.Join(", ", DetectionFormats.Writable)})");
        var inputFolder = File.Exists(input) ? Path.GetDirectoryName(Path.GetFullPath(input))! : input;
        using var staged = new StagedFolder(output, inputFolder);
        var log = new IssueLog();
        var data = source.Read(input, log);
        if (StagedFolder.IsSameOrInside(output, data.Root))
            throw new InputException(output, $"is inside the input dataset ({data.Root}); write the output somewhere else");
        var fitted = Fit(data, source, target, log);
        target.Write(fitted, staged.Staging, transfer);
        staged.Publish();
        var splits = fitted.Splits.Where(s => target != DetectionFormats.Yolo || YoloDetectionFormat.RoleOf(s.Name) is not null)
            .Select(s => (s.Name, s.Images.Count, s.Images.Sum(i => i.Objects.Count))).ToArray();
        return new ConversionResult(Path.GetFullPath(output), splits, log.Issues);
    }

    /// <summary>The dataset as the target can hold it; every kind of loss is reported once, with its count.</summary>
    internal static DetectionDataset Fit(DetectionDataset data, DetectionFormat source, DetectionFormat target, IssueLog log)
    {
        var carries = target.Carries;
        var objects = data.Splits.SelectMany(s => s.Images).DistinctBy(i => i.Path).SelectMany(i => i.Objects).ToArray();
        void Dropped(int count, string what)
        {
            if (count > 0) log.Report(IssueKinds.DroppedInformation, data.Root, $"{count} {what}");
        }
        bool Inverted(DetectionObject o) => o.X1 < o.X0 || o.Y1 < o.Y0;

        if (!carries.Crowd) Dropped(objects.Count(o => o.IsCrowd), $"crowd object(s) (iscrowd) left out: {target.Name} has no crowd regions");
        if (!carries.InvertedBoxes) Dropped(objects.Count(o => !o.IsCrowd && Inverted(o)), $"box(es) with x1 < x0 or y1 < y0 left out: {target.Name} cannot hold a negative width or height");
        if (!carries.Difficult) Dropped(objects.Count(o => o.Difficult), $"object(s) marked difficult written as ordinary objects: {target.Name} has no difficult flag");
        if (!carries.Truncated) Dropped(objects.Count(o => o.Truncated), $"truncated flag(s) not written: {target.Name} has no truncated flag");
        if (!carries.Area)
            Dropped(objects.Count(o => !double.IsNaN(o.Area) && Math.Abs(o.Area - (double)o.Width * o.Height) > 1e-6 * Math.Max(1, o.Area)),
                $"area value(s) differing from the box area not written: {target.Name} has no area (reading it back gives the box area)");
        if (source.Carries.CategoryIds && !carries.CategoryIds && !data.CategoryIds.SequenceEqual(DetectionDataset.NumberedCategoryIds(data.NumClasses)))
            Dropped(data.NumClasses, $"category id(s) not written: {target.Name} numbers classes 0..K-1 (read back as category ids 1..K)");
        if (source.Carries.ImageIds && !carries.ImageIds)
        {
            long expected = 1;
            int renumbered = 0;
            foreach (var image in data.Splits.SelectMany(s => s.Images))
                if (image.Id != expected++) renumbered++;
            Dropped(renumbered, $"image id(s) not written: {target.Name} has no image ids (read back as 1..N)");
        }
        if (target == DetectionFormats.Yolo)
            foreach (var split in data.Splits.Where(s => YoloDetectionFormat.RoleOf(s.Name) is null))
                log.Report(IssueKinds.DroppedInformation, data.Root, $"split '{split.Name}' ({split.Images.Count} images) left out: data.yaml has only train:, val: and test:");

        var splits = data.Splits.Select(s => new DetectionSplit(s.Name, s.Images.Select(i =>
        {
            bool keep(DetectionObject o) => (carries.Crowd || !o.IsCrowd) && (carries.InvertedBoxes || !Inverted(o));
            return i.Objects.All(keep) ? i : i with { Objects = i.Objects.Where(keep).ToArray() };
        }).ToArray())).ToArray();
        return new DetectionDataset(data.Root, data.Format, data.ClassNames, data.CategoryIds, splits);
    }
}
