using PixelBox.Coco;
using PixelBox.Imaging;
using PixelBox.Models;
using PixelBox.Visualization;

namespace PixelBox.Inference;

/// <summary>What <see cref="DetectionPredictionFiles.Write"/> wrote.</summary>
public sealed record DetectionPredictionOutput(string PredictionsPath, IReadOnlyList<string> Pictures, int Detections);

/// <summary>
/// The files of <c>pixelbox predict det</c>: predictions.json (COCO results of every image) and
/// &lt;stem&gt;_boxes.png per image (its detections drawn). Image ids come from a COCO ground truth by file
/// name when one is given, else 1..N in file-name order; category ids from the checkpoint's category map,
/// else the class index. Output paths are checked against every input before anything is written.
/// </summary>
public static class DetectionPredictionFiles
{
    public const string PredictionsName = "predictions.json";

    public static string PictureName(string imagePath) => Path.GetFileNameWithoutExtension(imagePath) + "_boxes.png";

    /// <summary>Refuses, before anything is written, an output that would replace one of the inputs
    /// (an image named like another image's picture, a ground truth or checkpoint called predictions.json ...).</summary>
    public static void CheckOutputs(IReadOnlyList<string> images, string outDir, IEnumerable<string> otherInputs)
    {
        var inputs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var input in images.Concat(otherInputs))
            inputs.TryAdd(Resolved(input), input);
        foreach (var output in images.Select(PictureName).Prepend(PredictionsName))
        {
            var path = Path.Combine(outDir, output);
            if (inputs.TryGetValue(Resolved(path), out var input))
                throw new InputException(path, $"would overwrite the input {input}; choose another --out folder");
        }
    }

    /// <summary>
    /// COCO image ids of <paramref name="images"/>: with a ground truth, the id of the image whose file_name
    /// (its last part) is the input's file name; without, 1..N in the order given (file-name order).
    /// </summary>
    public static IReadOnlyList<long> ImageIds(IReadOnlyList<string> images, string? groundTruthPath)
    {
        if (groundTruthPath is null)
            return [.. Enumerable.Range(1, images.Count).Select(i => (long)i)];
        var gt = CocoJson.ReadGroundTruth(groundTruthPath, CocoIouType.Bbox);
        var byName = new Dictionary<string, long>(StringComparer.Ordinal);
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        foreach (var image in gt.Images)
        {
            if (image.FileName is null)
                continue;
            var name = Path.GetFileName(image.FileName.Replace('\\', '/'));
            if (!byName.TryAdd(name, image.Id) && byName[name] != image.Id)
                ambiguous.Add(name);
        }
        if (byName.Count == 0)
            throw new InputException(groundTruthPath, "its images have no file_name, so predictions cannot be matched to them");
        var ids = new long[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var name = Path.GetFileName(images[i]);
            if (ambiguous.Contains(name))
                throw new InputException(groundTruthPath, $"several images have the file name '{name}'");
            if (!byName.TryGetValue(name, out ids[i]))
                throw new InputException(images[i], $"not among the images of {groundTruthPath} (matched by file name)");
        }
        return ids;
    }

    /// <summary>
    /// Predicts <paramref name="images"/> in batches, writes each &lt;stem&gt;_boxes.png as it goes (detections
    /// scoring at least <paramref name="drawThreshold"/> drawn) and predictions.json at the end (all detections
    /// above the model's score threshold, as COCO evaluation wants them).
    /// </summary>
    public static DetectionPredictionOutput Write(IDetectionPredictor predictor, IReadOnlyList<string> images, IReadOnlyList<long> imageIds,
        string outDir, double drawThreshold = 0.25, int batchSize = 8, Action<int>? imagesDone = null)
    {
        if (images.Count != imageIds.Count)
            throw new ArgumentException($"{images.Count} images but {imageIds.Count} ids");
        var detections = new List<ImageDetections>(images.Count);
        var pictures = new List<string>(images.Count);
        for (int start = 0; start < images.Count; start += batchSize)
        {
            int n = Math.Min(batchSize, images.Count - start);
            var decoded = new RgbImage[n];
            try
            {
                Parallel.For(0, n, j => decoded[j] = RgbImageFile.Read(images[start + j]));
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // the first failing file's own one-line error
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
            var predicted = predictor.Predict(decoded);
            for (int j = 0; j < n; j++)
            {
                var picture = Path.Combine(outDir, PictureName(images[start + j]));
                RgbImageFile.WritePng(picture, DetectionOverlay.Draw(decoded[j], predicted[j].Detections, predictor.Info.ClassNames, drawThreshold));
                pictures.Add(picture);
            }
            detections.AddRange(predicted);
            imagesDone?.Invoke(start + n);
        }
        var predictionsPath = Path.Combine(outDir, PredictionsName);
        AtomicFile.Write(predictionsPath, stream => DetectionCoco.WriteResults(stream, imageIds, detections, predictor.Info.CategoryOf));
        return new DetectionPredictionOutput(predictionsPath, pictures, detections.Sum(d => d.Detections.Count));
    }

    static string Resolved(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            return new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }
}
