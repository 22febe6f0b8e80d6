namespace PixelBox.Coco;

/// <summary>Completes parsed results the way pycocotools' <c>loadRes</c> does (areas, boxes, ids).</summary>
static class CocoResultsBuilder
{
    public static CocoDetections Build(string file, long[] imageIds, long[] categoryIds, double[] scores,
        double[] boxes, CocoSegmentation?[]? segmentations, bool boxBranch, bool segmEvaluation)
    {
        int n = imageIds.Length;
        var area = new double[n];
        if (boxBranch)
        {
            for (int i = 0; i < n; i++)
                area[i] = boxes[4 * i + 2] * boxes[4 * i + 3];
            if (segmEvaluation)
            {
                // A box result evaluated as segm is the box's polygon [x1,y1, x1,y2, x2,y2, x2,y1].
                segmentations ??= new CocoSegmentation?[n];
                for (int i = 0; i < n; i++)
                {
                    if (segmentations[i] is not null)
                        continue;
                    double x1 = boxes[4 * i], y1 = boxes[4 * i + 1];
                    double x2 = x1 + boxes[4 * i + 2], y2 = y1 + boxes[4 * i + 3];
                    segmentations[i] = new CocoPolygons([[x1, y1, x1, y2, x2, y2, x2, y1]]);
                }
            }
        }
        else
        {
            throw new InputException(file, "mask results without a bbox are not supported yet");
        }
        return new CocoDetections
        {
            ImageId = imageIds, CategoryId = categoryIds, Score = scores, Box = boxes, Area = area,
            Segmentation = segmentations,
        };
    }
}
