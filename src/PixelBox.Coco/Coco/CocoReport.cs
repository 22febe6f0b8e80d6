using System.Globalization;
using System.Text;
using System.Text.Json;

namespace PixelBox.Coco;

/// <summary>
/// One category's numbers: COCO AP/AR (means over entries > -1 of precision/recall at area "all" and the
/// largest maxDets unless stated, -1 if none) next to the simple TP/FP/FN view at one IoU threshold.
/// </summary>
public sealed record CocoCategoryResult(
    long CategoryId, string Name, double Ap, double Ap50, double Ap75,
    double[] ApByArea, double[] ArByMaxDets, CocoClassCounts Counts, double MeanPrecision);

/// <summary>Summary plus per-category table of one evaluation, and its JSON form.</summary>
public sealed class CocoReport
{
    public required CocoIouType IouType { get; init; }
    public required CocoParams Params { get; init; }
    public required CocoSummary Summary { get; init; }
    public required CocoCategoryResult[] PerCategory { get; init; }
    /// <summary>The IoU threshold of the TP/FP/FN columns.</summary>
    public required double CountsIou { get; init; }

    public static CocoReport Create(CocoGroundTruth gt, CocoEvaluation evaluation, CocoAccumulation acc,
        CocoIouType iouType, double countsIou = 0.5)
    {
        var p = acc.Params;
        var names = new Dictionary<long, string>(gt.Categories.Length);
        foreach (var c in gt.Categories)
            names[c.Id] = c.Name;
        var counts = evaluation.CountMatches();
        int t50 = acc.IouIndex(0.5), t75 = acc.IouIndex(0.75), tCounts = acc.IouIndex(countsIou);
        if (tCounts < 0)
            throw new ArgumentException($"IoU {countsIou} is not one of the evaluated thresholds");
        var rows = new CocoCategoryResult[acc.K];
        for (int k = 0; k < acc.K; k++)
        {
            long id = acc.CategoryIds[k];
            var apByArea = new double[p.AreaRanges.Length - 1];
            for (int a = 1; a < p.AreaRanges.Length; a++)
                apByArea[a - 1] = acc.Mean(true, null, k, a);
            var ar = new double[p.MaxDetections.Length];
            for (int m = 0; m < ar.Length; m++)
                ar[m] = acc.Mean(false, null, k, 0, m);
            rows[k] = new CocoCategoryResult(id, names.GetValueOrDefault(id, id.ToString(CultureInfo.InvariantCulture)),
                acc.Mean(true, null, k), t50 < 0 ? -1 : acc.Mean(true, t50, k), t75 < 0 ? -1 : acc.Mean(true, t75, k),
                apByArea, ar, counts.AtIndex(k, tCounts), counts.MeanPrecision(k));
        }
        return new CocoReport
        {
            IouType = iouType, Params = p, Summary = acc.Summarize(), PerCategory = rows, CountsIou = countsIou,
        };
    }

    /// <summary>The IoU thresholds as "0.5:0.95" (or the one threshold).</summary>
    string IouRange()
    {
        var t = Params.IouThresholds;
        string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);
        return t.Length == 1 ? F(t[0]) : $"{F(t[0])}:{F(t[^1])}";
    }

    static string TypeName(CocoIouType t) => t == CocoIouType.Segm ? "segm" : "bbox";

    /// <summary>
    /// {"iou_type", "stats", "stats_names", "per_category": [{category_id, name, ap, ap50, ap75, ap_small,
    /// ap_medium, ap_large, ar1, ar10, ar100, tp, fp, fn}], "simple_view": {...}}.
    /// </summary>
    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions
        {
            Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
        w.WriteStartObject();
        w.WriteString("iou_type", TypeName(IouType));
        w.WriteStartArray("stats");
        foreach (var s in Summary.Stats)
            w.WriteNumberValue(s);
        w.WriteEndArray();
        w.WriteStartArray("stats_names");
        foreach (var s in Summary.Names)
            w.WriteStringValue(s);
        w.WriteEndArray();
        w.WriteStartArray("per_category");
        foreach (var c in PerCategory)
        {
            w.WriteStartObject();
            w.WriteNumber("category_id", c.CategoryId);
            w.WriteString("name", c.Name);
            w.WriteNumber("ap", c.Ap);
            w.WriteNumber("ap50", c.Ap50);
            w.WriteNumber("ap75", c.Ap75);
            for (int a = 0; a < c.ApByArea.Length; a++)
                w.WriteNumber("ap_" + Params.AreaRanges[a + 1].Label, c.ApByArea[a]);
            for (int m = 0; m < c.ArByMaxDets.Length; m++)
                w.WriteNumber("ar" + Params.MaxDetections[m].ToString(CultureInfo.InvariantCulture), c.ArByMaxDets[m]);
            w.WriteNumber("tp", c.Counts.Tp);
            w.WriteNumber("fp", c.Counts.Fp);
            w.WriteNumber("fn", c.Counts.Fn);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("simple_view");
        w.WriteString("note", $"lecture view from the same matches: TP/FP/FN, precision, recall and F1 at IoU {CountsIou.ToString("0.##", CultureInfo.InvariantCulture)}; " +
                              $"mean_precision = precision TP/(TP+FP) averaged over the IoU thresholds {IouRange()} (no ranking by score: not an average precision, not COCO AP); " +
                              "naive_ap = the same value under its former name, kept for existing scripts");
        w.WriteNumber("iou", CountsIou);
        w.WriteNumber("max_dets", Params.MaxDetections[^1]);
        w.WriteStartArray("per_category");
        foreach (var c in PerCategory)
        {
            w.WriteStartObject();
            w.WriteNumber("category_id", c.CategoryId);
            w.WriteNumber("tp", c.Counts.Tp);
            w.WriteNumber("fp", c.Counts.Fp);
            w.WriteNumber("fn", c.Counts.Fn);
            w.WriteNumber("precision", c.Counts.Precision);
            w.WriteNumber("recall", c.Counts.Recall);
            w.WriteNumber("f1", c.Counts.F1);
            w.WriteNumber("mean_precision", c.MeanPrecision);
            w.WriteNumber("naive_ap", c.MeanPrecision);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>The per-class table printed after the summary.</summary>
    public string FormatTable()
    {
        var p = Params;
        var header = new List<string> { "category", "AP", "AP50", "AP75" };
        for (int a = 1; a < p.AreaRanges.Length; a++)
            header.Add("AP" + p.AreaRanges[a].Label switch { "small" => "s", "medium" => "m", "large" => "l", var l => "_" + l });
        header.Add("AR" + p.MaxDetections[^1].ToString(CultureInfo.InvariantCulture));
        string at = "@" + CountsIou.ToString("0.##", CultureInfo.InvariantCulture);
        header.AddRange(["TP" + at, "FP" + at, "FN" + at, "P" + at, "R" + at, "F1" + at, "P@" + IouRange()]);
        var rows = new List<string[]> { header.ToArray() };
        foreach (var c in PerCategory)
        {
            var row = new List<string> { $"{c.CategoryId} {c.Name}", F(c.Ap), F(c.Ap50), F(c.Ap75) };
            foreach (var ap in c.ApByArea)
                row.Add(F(ap));
            row.Add(F(c.ArByMaxDets[^1]));
            row.AddRange([I(c.Counts.Tp), I(c.Counts.Fp), I(c.Counts.Fn), F(c.Counts.Precision), F(c.Counts.Recall),
                F(c.Counts.F1), F(c.MeanPrecision)]);
            rows.Add(row.ToArray());
        }
        var widths = new int[header.Count];
        foreach (var r in rows)
            for (int i = 0; i < widths.Length; i++)
                widths[i] = Math.Max(widths[i], r[i].Length);
        var sb = new StringBuilder();
        foreach (var r in rows)
        {
            for (int i = 0; i < r.Length; i++)
            {
                if (i > 0) sb.Append("  ");
                sb.Append(i == 0 ? r[i].PadRight(widths[i]) : r[i].PadLeft(widths[i]));
            }
            sb.Append('\n');
        }
        sb.Append($"-1 = undefined (no ground truth / no detections); P@{IouRange()} = precision TP/(TP+FP) averaged over the IoU thresholds " +
                  "(the lecture's \"AP\" formula; no ranking by score, so not an average precision and not COCO AP)\n");
        return sb.ToString();

        static string F(double v) => NumpyMath.FormatFixed(v, 3);
        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
    }
}
