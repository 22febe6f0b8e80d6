namespace PixelBox.Coco;

/// <summary>
/// One image x category x area range in pycocotools' evalImgs form: ids, scores, and per IoU threshold
/// the matched GT id of each detection (0 = none), the matched detection id of each GT, and ignore flags.
/// GT are listed non-ignored first, detections by score (at most the largest maxDets).
/// </summary>
public sealed record CocoImageEvaluation(
    long ImageId, long CategoryId, CocoAreaRange AreaRange, int MaxDetections,
    long[] DtIds, long[] GtIds, double[] DtScores,
    long[][] DtMatches, long[][] GtMatches, bool[][] DtIgnore, bool[] GtIgnore);

public sealed partial class CocoEvaluator
{
    /// <summary>
    /// The evalImgs entry of one image and category (category -1 when categories are pooled) for one
    /// area range; null where pycocotools has None (no ground truth and no detections).
    /// </summary>
    public CocoImageEvaluation? EvaluateImage(long imageId, long categoryId, int areaIndex)
    {
        var (gts, dts) = Cell(imageId, categoryId);
        if (gts.Length == 0 && dts.Length == 0)
            return null;
        var ws = new Workspace(Params.AreaRanges.Length);
        int G = gts.Length;
        int D = SortDetections(dts, ws);
        var sorted = ws.Dets.AsSpan(0, D).ToArray();
        var thresholds = Params.IouThresholds;
        int T = thresholds.Length;
        var range = Params.AreaRanges[areaIndex];
        Workspace.Ensure(ref ws.Perm, G);
        Workspace.Ensure(ref ws.IgnoreSorted, G);
        Workspace.Ensure(ref ws.CrowdSorted, G);
        SortGroundTruth(gts, range.Min, range.Max, ws);
        var dtMatch = new int[T * D];
        var gtMatch = new int[T * G];
        Array.Fill(dtMatch, -1);
        Array.Fill(gtMatch, -1);
        if (G > 0 && D > 0)
        {
            var iou = new double[D * G];
            var bestIou = new double[D];
            ComputeIou(gts, sorted, iou, bestIou);
            var all = new int[D];
            for (int d = 0; d < D; d++)
                all[d] = d;
            Match(iou, bestIou, all, D, G, ws.Perm.AsSpan(0, G), ws.IgnoreSorted.AsSpan(0, G), ws.CrowdSorted.AsSpan(0, G),
                thresholds, dtMatch, gtMatch);
        }
        var gtIds = new long[G];
        var gtIgnore = new bool[G];
        for (int s = 0; s < G; s++)
        {
            gtIds[s] = _gt.AnnotationId[gts[ws.Perm[s]]];
            gtIgnore[s] = ws.IgnoreSorted[s];
        }
        var dtMatches = new long[T][];
        var gtMatches = new long[T][];
        var dtIgnore = new bool[T][];
        for (int t = 0; t < T; t++)
        {
            dtMatches[t] = new long[D];
            dtIgnore[t] = new bool[D];
            gtMatches[t] = new long[G];
            for (int d = 0; d < D; d++)
            {
                int m = dtMatch[t * D + d];
                long matchedId = m >= 0 ? gtIds[m] : 0;
                double area = _dt.Area[sorted[d]];
                dtMatches[t][d] = matchedId;
                dtIgnore[t][d] = (m >= 0 && gtIgnore[m]) || (matchedId == 0 && (area < range.Min || area > range.Max));
            }
            for (int s = 0; s < G; s++)
            {
                int d = gtMatch[t * G + s];
                gtMatches[t][s] = d >= 0 ? CocoDetections.IdOf(sorted[d]) : 0;
            }
        }
        return new CocoImageEvaluation(imageId, categoryId, range, Params.MaxDetections[^1],
            sorted.Select(CocoDetections.IdOf).ToArray(), gtIds, sorted.Select(d => _dt.Score[d]).ToArray(),
            dtMatches, gtMatches, dtIgnore, gtIgnore);
    }

    /// <summary>
    /// pycocotools' ious[(imageId, categoryId)]: rows are the detections by score (at most the largest
    /// maxDets), columns the ground truth in file order.
    /// </summary>
    public double[,] ComputeIou(long imageId, long categoryId)
    {
        var (gts, dts) = Cell(imageId, categoryId);
        var ws = new Workspace(Params.AreaRanges.Length);
        int D = SortDetections(dts, ws);
        var sorted = ws.Dets.AsSpan(0, D).ToArray();
        var flat = new double[D * gts.Length];
        if (D > 0 && gts.Length > 0)
            ComputeIou(gts, sorted, flat, new double[D]);
        var result = new double[D, gts.Length];
        for (int d = 0; d < D; d++)
            for (int g = 0; g < gts.Length; g++)
                result[d, g] = flat[d * gts.Length + g];
        return result;
    }

    (int[] Gts, int[] Dts) Cell(long imageId, long categoryId)
    {
        if (!_imageIndex.TryGetValue(imageId, out var image))
            return ([], []);
        int group = 0;
        if (Params.UseCategories && !_categoryIndex.TryGetValue(categoryId, out group))
            return ([], []);
        return (CellOf(_gtGroups, group, image), CellOf(_dtGroups, group, image));
    }

    static int[] CellOf(Grouping grouping, int group, int image)
    {
        var list = new List<int>();
        for (int j = grouping.GroupStart[group]; j < grouping.GroupStart[group + 1]; j++)
            if (grouping.Image[j] == image)
                list.Add(grouping.Order[j]);
        return list.ToArray();
    }
}
