using System.Text.Encodings.Web;
using System.Text.Json;

namespace PixelBox.Metrics;

/// <summary>
/// The machine-readable form of a segmentation evaluation (what <c>pixelbox eval seg --json</c> writes):
/// <code>
/// { "num_classes", "ignore_index", "images", "pixels", "ignored_pixels",
///   "pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou",
///   "classes_excluded_from_mean_iou": [class, ...],
///   "per_class": [{ "class", "name", "iou", "accuracy", "dice", "precision", "gt_pixels", "pred_pixels" }],
///   "confusion_matrix": [[...]] }   // rows = ground truth, columns = prediction
/// </code>
/// Undefined values (NaN: a class absent from both GT and prediction, or with no GT pixels for accuracy) are null.
/// </summary>
public static class SegmentationReport
{
    /// <summary>Default class names: the class indices.</summary>
    public static string[] IndexNames(int numClasses) =>
        Enumerable.Range(0, numClasses).Select(c => c.ToString()).ToArray();

    public static byte[] ToJson(ConfusionMatrix cm, IReadOnlyList<string> names, int images)
    {
        if (names.Count != cm.NumClasses)
            throw new ArgumentException($"{names.Count} class names for {cm.NumClasses} classes", nameof(names));
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("num_classes", cm.NumClasses);
            if (cm.IgnoreIndex is int ignore) w.WriteNumber("ignore_index", ignore);
            else w.WriteNull("ignore_index");
            w.WriteNumber("images", images);
            w.WriteNumber("pixels", cm.TotalPixels);
            w.WriteNumber("ignored_pixels", cm.IgnoredPixels);
            WriteNumberOrNull(w, "pixel_accuracy", cm.PixelAccuracy);
            WriteNumberOrNull(w, "mean_accuracy", cm.MeanAccuracy);
            WriteNumberOrNull(w, "mean_iou", cm.MeanIoU);
            WriteNumberOrNull(w, "frequency_weighted_iou", cm.FrequencyWeightedIoU);
            w.WriteStartArray("classes_excluded_from_mean_iou");
            foreach (var c in cm.ClassesExcludedFromMeanIoU) w.WriteNumberValue(c);
            w.WriteEndArray();

            var (iou, accuracy, dice, precision) = (cm.IoU, cm.ClassAccuracy, cm.Dice, cm.Precision);
            var (gt, pred) = (cm.GtPixels, cm.PredPixels);
            w.WriteStartArray("per_class");
            for (int c = 0; c < cm.NumClasses; c++)
            {
                w.WriteStartObject();
                w.WriteNumber("class", c);
                w.WriteString("name", names[c]);
                WriteNumberOrNull(w, "iou", iou[c]);
                WriteNumberOrNull(w, "accuracy", accuracy[c]);
                WriteNumberOrNull(w, "dice", dice[c]);
                WriteNumberOrNull(w, "precision", precision[c]);
                w.WriteNumber("gt_pixels", gt[c]);
                w.WriteNumber("pred_pixels", pred[c]);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("confusion_matrix");
            for (int g = 0; g < cm.NumClasses; g++)
            {
                w.WriteStartArray();
                for (int p = 0; p < cm.NumClasses; p++) w.WriteNumberValue(cm[g, p]);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static void WriteNumberOrNull(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsNaN(value)) w.WriteNull(name);
        else w.WriteNumber(name, value);
    }
}
