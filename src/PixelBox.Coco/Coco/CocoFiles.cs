using System.Runtime.ExceptionServices;

namespace PixelBox.Coco;

/// <summary>A ground truth and a results file read together and checked against each other.</summary>
public sealed record CocoInputs(CocoGroundTruth GroundTruth, CocoDetections Detections, IReadOnlyList<string> Warnings);

/// <summary>Reads and cross-checks the two files of an evaluation (both parsed in parallel).</summary>
public static class CocoFiles
{
    public static CocoInputs Load(string gtPath, string dtPath, CocoIouType iouType)
    {
        var gtTask = Task.Run(() => CocoJson.ReadGroundTruth(gtPath, iouType));
        CocoDetections? dt = null;
        Exception? dtError = null;
        try
        {
            dt = CocoJson.ReadDetections(dtPath, iouType);
        }
        catch (Exception e)
        {
            dtError = e;
        }
        // a ground-truth error is reported first: it is the likelier root cause
        try
        {
            gtTask.Wait();
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
        if (dtError is not null)
            ExceptionDispatchInfo.Capture(dtError).Throw();
        var gt = gtTask.Result;
        var warnings = Check(gt, gtPath, dt!, dtPath, iouType);
        if (iouType == CocoIouType.Segm)
            CocoMasks.Prepare(gt, gtPath, dt!, dtPath);
        return new CocoInputs(gt, dt!, warnings);
    }

    /// <summary>
    /// Errors (InputException) for results on images the ground truth does not have and for RLE sizes
    /// that disagree with their image; warnings where pycocotools silently drops data (results or
    /// annotations with unknown categories, annotations of unknown images).
    /// </summary>
    public static IReadOnlyList<string> Check(CocoGroundTruth gt, string gtFile, CocoDetections dt, string dtFile, CocoIouType iouType)
    {
        var warnings = new List<string>();
        var images = new Dictionary<long, int>(gt.Images.Length);
        for (int i = 0; i < gt.Images.Length; i++)
            images[gt.Images[i].Id] = i;
        var categories = new HashSet<long>(gt.Categories.Length);
        foreach (var c in gt.Categories)
            categories.Add(c.Id);
        bool segm = iouType == CocoIouType.Segm;

        int unknownImage = 0, unknownCategory = 0, firstUnknownImage = -1, firstUnknownCategory = -1;
        for (int i = 0; i < gt.Count; i++)
        {
            if (!images.TryGetValue(gt.ImageId[i], out var image))
            {
                if (unknownImage++ == 0) firstUnknownImage = i;
                continue;
            }
            if (!categories.Contains(gt.CategoryId[i]))
            {
                if (unknownCategory++ == 0) firstUnknownCategory = i;
                continue;
            }
            if (segm)
                CheckShape(gt.Segmentation![i], gt.Images[image], gtFile, $"annotations[{i}] (id {gt.AnnotationId[i]})", gtFile, image);
        }
        if (unknownImage > 0)
            warnings.Add(UnknownImagesWarning(gtFile, unknownImage, firstUnknownImage, gt.ImageId[firstUnknownImage]));
        if (unknownCategory > 0)
            warnings.Add(UnknownCategoriesWarning(gtFile, unknownCategory, firstUnknownCategory, gt.CategoryId[firstUnknownCategory]));

        var unknownCategoryIds = new SortedSet<long>();
        int unknownResults = 0;
        // results usually come image by image: reuse the last lookup while the image id repeats
        long lastImageId = 0;
        int lastImage = -1;
        for (int i = 0; i < dt.Count; i++)
        {
            int image;
            if (lastImage >= 0 && dt.ImageId[i] == lastImageId)
                image = lastImage;
            else if (!images.TryGetValue(dt.ImageId[i], out image))
                throw UnknownImage(dtFile, i, dt.ImageId[i], gtFile);
            (lastImageId, lastImage) = (dt.ImageId[i], image);
            if (!categories.Contains(dt.CategoryId[i]))
            {
                unknownResults++;
                unknownCategoryIds.Add(dt.CategoryId[i]);
                continue;
            }
            if (dt.Segmentation?[i] is { } s && (segm || s is CocoRleString or CocoRleCounts))
                CheckShape(s, gt.Images[image], dtFile, $"results[{i}]", gtFile, image);
        }
        if (unknownResults > 0)
            warnings.Add(UnknownResultCategoriesWarning(dtFile, unknownResults, unknownCategoryIds, gtFile));
        return warnings;
    }

    // The messages are built in methods of their own, compiled only when needed.
    static string UnknownImagesWarning(string gtFile, int count, int first, long imageId) =>
        $"{gtFile}: {count} annotation(s) refer to image ids not in 'images' (first: annotations[{first}], image_id {imageId}); they are not evaluated, as in pycocotools";

    static string UnknownCategoriesWarning(string gtFile, int count, int first, long categoryId) =>
        $"{gtFile}: {count} annotation(s) have category ids not in 'categories' (first: annotations[{first}], category_id {categoryId}); they are not evaluated, as in pycocotools";

    static string UnknownResultCategoriesWarning(string dtFile, int count, SortedSet<long> ids, string gtFile) =>
        $"{dtFile}: {count} result(s) have category ids not in {gtFile}'s categories ({string.Join(", ", ids.Take(10))}); they are ignored, as in pycocotools";

    static InputException UnknownImage(string dtFile, int index, long imageId, string gtFile) =>
        new(dtFile, $"results[{index}]: image_id {imageId} is not an image of {gtFile}");

    static void CheckShape(CocoSegmentation? s, CocoImage image, string file, string record, string gtFile, int imageIndex)
    {
        switch (s)
        {
            case CocoRleString r when r.Height != image.Height || r.Width != image.Width:
                throw SizeMismatch(file, record, r.Height, r.Width, image, gtFile);
            case CocoRleCounts r when r.Height != image.Height || r.Width != image.Width:
                throw SizeMismatch(file, record, r.Height, r.Width, image, gtFile);
            case CocoRleCounts r when r.Counts.Sum() != (long)r.Height * r.Width:
                throw new InputException(file, $"{record}: RLE counts sum to {r.Counts.Sum()}, not height*width = {(long)r.Height * r.Width}");
            case CocoPolygons when image.Height <= 0 || image.Width <= 0:
                throw new InputException(gtFile, $"images[{imageIndex}] (id {image.Id}): width and height are needed to rasterise polygons of {record} in {file}");
        }
    }

    static InputException SizeMismatch(string file, string record, int h, int w, CocoImage image, string gtFile) =>
        new(file, $"{record}: RLE size [{h}, {w}] differs from image {image.Id}'s [{image.Height}, {image.Width}] in {gtFile}");
}
