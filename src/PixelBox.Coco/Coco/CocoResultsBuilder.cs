using PixelBox.Masks;

namespace PixelBox.Coco;

/// <summary>Completes parsed results the way pycocotools' <c>loadRes</c> does (areas, boxes, ids).</summary>
static class CocoResultsBuilder
{
    public static CocoDetections Build(string file, long[] imageIds, long[] categoryIds, double[] scores,
        double[] boxes, CocoSegmentation?[]? segmentations, bool boxBranch)
    {
        int n = imageIds.Length;
        var area = new double[n];
        if (boxBranch)
        {
            for (int i = 0; i < n; i++)
                area[i] = boxes[4 * i + 2] * boxes[4 * i + 3];
            // A box result evaluated as segm without a segmentation is its box's polygon
            // [x1,y1, x1,y2, x2,y2, x2,y1] (loadRes); CocoMasks rasterises it from the box directly.
        }
        Rle?[]? masks = null;
        if (!boxBranch)
        {
            // loadRes' segmentation branch: area is the mask's, a missing bbox is the mask's bounding box
            masks = new Rle?[n];
            for (int i = 0; i < n; i++)
            {
                var s = segmentations![i]!;
                if (s is CocoPolygons)
                    throw new InputException(file, $"results[{i}]: a mask result's segmentation must be RLE {{size, counts}}, not polygons");
                Rle rle;
                try
                {
                    rle = CocoMasks.ToRle(s, 0, 0);
                }
                catch (Exception e) when (e is ArgumentException or FormatException)
                {
                    throw new InputException(file, $"results[{i}]: bad segmentation: {e.Message.Split(" (Parameter")[0]}", e);
                }
                masks[i] = rle;
                area[i] = RleOps.Area(rle);
                if (double.IsNaN(boxes[4 * i]))
                    RleOps.ToBox(rle).CopyTo(boxes, 4 * i);
            }
        }
        return new CocoDetections
        {
            ImageId = imageIds, CategoryId = categoryIds, Score = scores, Box = boxes, Area = area,
            Segmentation = segmentations, Masks = masks,
        };
    }
}
