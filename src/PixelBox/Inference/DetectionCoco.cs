using System.Text.Json;
using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Models;

namespace PixelBox.Inference;

/// <summary>
/// Detection data in COCO's terms: a split's ground truth and a model's detections as the evaluator's
/// in-memory types and as COCO JSON files (ground truth: images with file_name, categories, annotations;
/// results: the list of {image_id, category_id, bbox [x, y, w, h], score}). A label's category id comes
/// from <c>categoryOf</c> (the dataset's ids, or the label itself when it has none).
/// </summary>
public static class DetectionCoco
{
    /// <summary>The ground truth of <paramref name="images"/>: boxes as read (crowd regions included), the
    /// annotation's area where the format has one, else the box's.</summary>
    public static CocoGroundTruth GroundTruth(IReadOnlyList<DetectionImage> images, IReadOnlyList<string> classNames, Func<int, long> categoryOf)
    {
        int count = images.Sum(i => i.Objects.Count);
        var annotationIds = new long[count];
        var imageIds = new long[count];
        var categoryIds = new long[count];
        var boxes = new double[4 * count];
        var areas = new double[count];
        var crowd = new bool[count];
        int k = 0;
        foreach (var image in images)
        {
            foreach (var o in image.Objects)
            {
                annotationIds[k] = k + 1;
                imageIds[k] = image.Id;
                categoryIds[k] = categoryOf(o.Label);
                (boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]) = (o.X0, o.Y0, (double)o.X1 - o.X0, (double)o.Y1 - o.Y0);
                areas[k] = double.IsNaN(o.Area) ? boxes[4 * k + 2] * boxes[4 * k + 3] : o.Area;
                crowd[k] = o.IsCrowd;
                k++;
            }
        }
        return new CocoGroundTruth
        {
            Images = [.. images.Select(i => new CocoImage(i.Id, i.Width, i.Height))],
            Categories = [.. classNames.Select((name, label) => new CocoCategory(categoryOf(label), name))],
            AnnotationId = annotationIds, ImageId = imageIds, CategoryId = categoryIds, Box = boxes, Area = areas, IsCrowd = crowd,
        };
    }

    /// <summary>Detections of images <paramref name="imageIds"/> (in that order) as COCO results, each box
    /// (x1, y1, x2 - x1, y2 - y1) computed in float as <see cref="WriteResults"/> writes it.</summary>
    public static CocoDetections Results(IReadOnlyList<long> imageIds, IReadOnlyList<ImageDetections> detections, Func<int, long> categoryOf)
    {
        if (imageIds.Count != detections.Count)
            throw new ArgumentException($"{imageIds.Count} image ids but {detections.Count} detection lists");
        int count = detections.Sum(d => d.Detections.Count);
        var ids = new long[count];
        var categories = new long[count];
        var scores = new double[count];
        var boxes = new double[4 * count];
        var areas = new double[count];
        int k = 0;
        for (int i = 0; i < imageIds.Count; i++)
        {
            foreach (var d in detections[i].Detections)
            {
                ids[k] = imageIds[i];
                categories[k] = categoryOf(d.Label);
                scores[k] = d.Score;
                var (x, y, w, h) = Xywh(d);
                (boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]) = (x, y, w, h);
                areas[k] = (double)w * h;
                k++;
            }
        }
        return new CocoDetections { ImageId = ids, CategoryId = categories, Score = scores, Box = boxes, Area = areas };
    }

    /// <summary>Writes a COCO results list: each float value as the double it equals (shortest round-trip form),
    /// so that reading the file back gives exactly the numbers of <see cref="Results"/>.</summary>
    public static void WriteResults(Stream stream, IReadOnlyList<long> imageIds, IReadOnlyList<ImageDetections> detections, Func<int, long> categoryOf)
    {
        if (imageIds.Count != detections.Count)
            throw new ArgumentException($"{imageIds.Count} image ids but {detections.Count} detection lists");
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartArray();
        for (int i = 0; i < imageIds.Count; i++)
        {
            foreach (var d in detections[i].Detections)
            {
                var (x, y, width, height) = Xywh(d);
                w.WriteStartObject();
                w.WriteNumber("image_id", imageIds[i]);
                w.WriteNumber("category_id", categoryOf(d.Label));
                w.WriteStartArray("bbox");
                w.WriteNumberValue((double)x);
                w.WriteNumberValue((double)y);
                w.WriteNumberValue((double)width);
                w.WriteNumberValue((double)height);
                w.WriteEndArray();
                w.WriteNumber("score", (double)d.Score);
                w.WriteEndObject();
                if (w.BytesPending > 1 << 16)
                    w.Flush();
            }
        }
        w.WriteEndArray();
    }

    /// <summary>Writes the COCO ground truth of <paramref name="images"/> (see <see cref="GroundTruth"/>) with file names.</summary>
    public static void WriteGroundTruth(Stream stream, IReadOnlyList<DetectionImage> images, IReadOnlyList<string> classNames, Func<int, long> categoryOf)
    {
        var gt = GroundTruth(images, classNames, categoryOf);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteStartArray("images");
        foreach (var image in images)
        {
            w.WriteStartObject();
            w.WriteNumber("id", image.Id);
            w.WriteString("file_name", image.FileName);
            w.WriteNumber("width", image.Width);
            w.WriteNumber("height", image.Height);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("categories");
        foreach (var c in gt.Categories)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c.Id);
            w.WriteString("name", c.Name);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("annotations");
        for (int k = 0; k < gt.Count; k++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", gt.AnnotationId[k]);
            w.WriteNumber("image_id", gt.ImageId[k]);
            w.WriteNumber("category_id", gt.CategoryId[k]);
            w.WriteStartArray("bbox");
            for (int j = 0; j < 4; j++)
                w.WriteNumberValue(gt.Box[4 * k + j]);
            w.WriteEndArray();
            w.WriteNumber("area", gt.Area[k]);
            w.WriteNumber("iscrowd", gt.IsCrowd[k] ? 1 : 0);
            w.WriteEndObject();
            if (w.BytesPending > 1 << 16)
                w.Flush();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static (float X, float Y, float W, float H) Xywh(DetectedObject d) => (d.X1, d.Y1, d.X2 - d.X1, d.Y2 - d.Y1);
}
