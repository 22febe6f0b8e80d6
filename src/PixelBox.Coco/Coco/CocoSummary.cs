using System.Globalization;

namespace PixelBox.Coco;

/// <summary>
/// The COCO summary: AP at IoU .50:.95/.50/.75 and per area range, AR per maxDets and per area range.
/// With default parameters these are pycocotools' 12 stats and its printed lines, character for character.
/// The AP lines use the largest maxDets (pycocotools hard-codes 100), so custom values work.
/// </summary>
public sealed class CocoSummary
{
    public required double[] Stats { get; init; }
    /// <summary>AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl for the defaults.</summary>
    public required string[] Names { get; init; }
    public required string[] Lines { get; init; }

    public string Text => string.Join('\n', Lines) + "\n";

    internal static CocoSummary From(CocoAccumulation acc)
    {
        var p = acc.Params;
        var stats = new List<double>();
        var names = new List<string>();
        var lines = new List<string>();
        int last = p.MaxDetections.Length - 1;

        void Add(bool ap, double? iou, int area, int m, string name)
        {
            int? t = null;
            double value;
            if (iou is double thr)
            {
                t = acc.IouIndex(thr);
                value = t < 0 ? -1 : acc.Mean(ap, t, null, area, m);
            }
            else
                value = acc.Mean(ap, null, null, area, m);
            stats.Add(value);
            names.Add(name);
            lines.Add(Line(ap, iou, p, p.AreaRanges[area].Label, p.MaxDetections[m], value));
        }

        Add(true, null, 0, last, "AP");
        Add(true, 0.5, 0, last, "AP50");
        Add(true, 0.75, 0, last, "AP75");
        for (int a = 1; a < p.AreaRanges.Length; a++)
            Add(true, null, a, last, "AP" + AreaSuffix(p.AreaRanges[a].Label));
        for (int m = 0; m < p.MaxDetections.Length; m++)
            Add(false, null, 0, m, "AR" + p.MaxDetections[m].ToString(CultureInfo.InvariantCulture));
        for (int a = 1; a < p.AreaRanges.Length; a++)
            Add(false, null, a, last, "AR" + AreaSuffix(p.AreaRanges[a].Label));
        return new CocoSummary { Stats = stats.ToArray(), Names = names.ToArray(), Lines = lines.ToArray() };
    }

    static string AreaSuffix(string label) => label switch
    {
        "small" => "s",
        "medium" => "m",
        "large" => "l",
        _ => "_" + label,
    };

    /// <summary>' {:&lt;18} {} @[ IoU={:&lt;9} | area={:&gt;6s} | maxDets={:&gt;3d} ] = {:0.3f}'</summary>
    static string Line(bool ap, double? iou, CocoParams p, string area, int maxDets, double value)
    {
        string title = ap ? "Average Precision" : "Average Recall";
        string type = ap ? "(AP)" : "(AR)";
        string iouText = iou is double thr
            ? NumpyMath.FormatFixed(thr, 2)
            : NumpyMath.FormatFixed(p.IouThresholds[0], 2) + ":" + NumpyMath.FormatFixed(p.IouThresholds[^1], 2);
        return $" {title,-18} {type} @[ IoU={iouText,-9} | area={area,6} | maxDets={maxDets,3} ] = {NumpyMath.FormatFixed(value, 3)}";
    }
}
