using PixelBox.Imaging;

namespace PixelBox.Data;

/// <summary>
/// Checks a detection dataset: reads it collecting every problem (a malformed file does not stop the check of
/// the others), decodes every image (or reads its header) to find missing and broken files and sizes that
/// disagree with the annotations, and adds the counts, class histogram, empty images and unused classes.
/// </summary>
public static class DetectionDataCheck
{
    public static DataCheckReport Run(string root, DetectionFormat format, DataCheckOptions options)
    {
        var log = new IssueLog(collectErrors: true);
        var data = format.Read(root, log);
        var images = data.Splits.SelectMany(s => s.Images).DistinctBy(i => i.Path).ToArray();
        VerifyImages(images, options, log);

        foreach (var image in images.Where(i => i.Objects.Count == 0))
            log.Report(IssueKinds.EmptyImage, image.Path, "no objects");
        var histogram = new long[data.NumClasses];
        foreach (var image in images)
            foreach (var o in image.Objects)
                histogram[o.Label]++;
        for (int k = 0; k < histogram.Length; k++)
            if (histogram[k] == 0) log.Report(IssueKinds.UnusedClass, data.Root, $"class {k} '{data.ClassNames[k]}' has no objects");

        return new DataCheckReport
        {
            Format = format.Name,
            Root = Path.GetFullPath(data.Root),
            Splits = data.Splits.Select(s => new SplitCount(s.Name, s.Images.Count, s.Images.Sum(i => i.Objects.Count), s.Images.Count(i => i.Objects.Count == 0))).ToArray(),
            Images = images.Length,
            Objects = images.Sum(i => i.Objects.Count),
            ClassUnit = "objects",
            Classes = Enumerable.Range(0, data.NumClasses).Select(k => new ClassCount(k, data.ClassNames[k], data.CategoryIds[k], histogram[k])).ToArray(),
            Problems = DataCheckReport.Summarize(log.Issues),
            DecodedImages = options.DecodeImages,
        };
    }

    static void VerifyImages(DetectionImage[] images, DataCheckOptions options, IssueLog log)
    {
        int done = 0;
        Parallel.For(0, images.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var image = images[i];
            try
            {
                var (width, height) = options.DecodeImages ? Decoded(image.Path) : RgbImageFile.ReadSize(image.Path);
                if (width != image.Width || height != image.Height)
                    log.Report(IssueKinds.SizeMismatch, image.Path, $"image is {width}x{height} but its annotation says {image.Width}x{image.Height}");
            }
            catch (InputException e)
            {
                var prefix = image.Path + ": ";
                var problem = e.Message.StartsWith(prefix, StringComparison.Ordinal) ? e.Message[prefix.Length..] : e.Message;
                log.Report(File.Exists(image.Path) ? IssueKinds.BrokenImage : IssueKinds.MissingImage, image.Path, problem);
            }
            options.Progress?.Report((Interlocked.Increment(ref done), images.Length));
        });
    }

    static (int, int) Decoded(string path)
    {
        var image = RgbImageFile.Read(path);
        return (image.Width, image.Height);
    }
}
