using PixelBox.Masks;

namespace PixelBox.Coco;

/// <summary>COCO segmentations to RLE masks, as pycocotools' annToRLE does.</summary>
public static class CocoMasks
{
    /// <summary>
    /// The mask of a segmentation on an image of the given size: compressed and uncompressed RLE as given
    /// (their size must be the image's), polygons rasterised and united. As frPyObjects, a polygon list whose
    /// first entry has exactly 4 numbers is read as boxes [x, y, w, h].
    /// </summary>
    /// <exception cref="ArgumentException">Malformed segmentation (also FormatException for a bad counts string).</exception>
    public static Rle ToRle(CocoSegmentation segmentation, int height, int width) => segmentation switch
    {
        CocoRleString s => RleCodec.FromCompressedString(s.Counts, s.Height, s.Width),
        CocoRleCounts c => RleCodec.FromUncompressed(c.Counts, c.Height, c.Width),
        CocoPolygons p => FromPolygons(p.Polygons, height, width),
        _ => throw new ArgumentException("unknown segmentation form"),
    };

    static Rle FromPolygons(double[][] polygons, int height, int width)
    {
        if (polygons.Length == 0)
            throw new ArgumentException("an empty polygon list");
        if (polygons[0].Length < 4)
            throw new ArgumentException($"a polygon needs at least 3 points (6 numbers), the first has {polygons[0].Length}");
        if (polygons[0].Length == 4)
        {
            var boxes = new Rle[polygons.Length];
            for (int i = 0; i < boxes.Length; i++)
            {
                var b = polygons[i];
                if (b.Length != 4)
                    throw new ArgumentException("read as boxes (the first entry has 4 numbers, as pycocotools reads it), every entry needs 4");
                boxes[i] = RleOps.FromBox(b[0], b[1], b[2], b[3], height, width);
            }
            return boxes.Length == 1 ? boxes[0] : RleOps.Merge(boxes, intersect: false);
        }
        return RleOps.FromPolygons(polygons, height, width);
    }

    /// <summary>
    /// Masks of every annotation and result that segm evaluation can look at (those on known images),
    /// converted in parallel; user errors name the file and record.
    /// </summary>
    public static void Prepare(CocoGroundTruth gt, string gtFile, CocoDetections dt, string dtFile)
    {
        var images = new Dictionary<long, CocoImage>(gt.Images.Length);
        foreach (var image in gt.Images)
            images[image.Id] = image;
        if (gt.Masks is null && gt.Segmentation is not null)
            gt.Masks = Convert(gt.Segmentation, gt.ImageId, images, gtFile, i => $"annotations[{i}] (id {gt.AnnotationId[i]})");
        // results without a segmentation are box results: their mask is the box's (loadRes' polygon)
        if (dt.Masks is null)
            dt.Masks = Convert(dt.Segmentation ?? new CocoSegmentation?[dt.Count], dt.ImageId, images, dtFile, i => $"results[{i}]", dt.Box);
    }

    static Rle?[] Convert(CocoSegmentation?[] segmentations, long[] imageIds, Dictionary<long, CocoImage> images,
        string file, Func<int, string> record, double[]? boxes = null)
    {
        var masks = new Rle?[segmentations.Length];
        Exception? first = null;
        int firstIndex = int.MaxValue;
        Parallel.For(0, segmentations.Length, i =>
        {
            if (!images.TryGetValue(imageIds[i], out var image))
                return;
            try
            {
                if (segmentations[i] is { } s)
                    masks[i] = ToRle(s, image.Height, image.Width);
                else if (boxes is not null && !double.IsNaN(boxes[4 * i]))
                    masks[i] = RleOps.FromBox(boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3], image.Height, image.Width);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                lock (masks)
                    if (i < firstIndex)
                        (first, firstIndex) = (e, i);
            }
        });
        if (first is not null)
            throw new InputException(file, $"{record(firstIndex)}: bad segmentation: {first.Message.Split(" (Parameter")[0]}", first);
        return masks;
    }
}
