using System.Globalization;
using PixelBox.Coco;
using ScottPlot;

namespace PixelBox.Visualization;

/// <summary>
/// PNG plots of a COCO evaluation: precision/recall curves at IoU .50, .75 and the .50:.95 mean (overall
/// and per class), each showing the raw, non-monotone curve next to COCO's interpolated envelope, and a
/// per-class AP bar chart. Raw curves at recall thresholds take the precision of the first detection
/// reaching that recall, as accumulate does, but without the envelope.
/// </summary>
public static class CocoPlots
{
    const int Width = 900, Height = 650;

    /// <summary>Writes pr_all.png, pr_class_&lt;id&gt;.png per category with ground truth, ap_per_class.png.</summary>
    public static IReadOnlyList<string> WriteAll(string dir, CocoEvaluation evaluation, CocoAccumulation acc, CocoReport report)
    {
        var files = new List<string>();
        var p = acc.Params;
        int last = acc.M - 1;
        var withGt = Enumerable.Range(0, acc.K).Where(k => acc.RecallAt(0, k, 0, last) > -1).ToArray();
        var settings = IouSettings(acc);

        var overall = new Plot();
        foreach (var (label, ts, color) in settings)
        {
            var envelope = Average(withGt.SelectMany(k => ts.Select(t => Interpolated(acc, t, k))).ToList(), acc.R);
            var raw = Average(withGt.SelectMany(k => ts.Select(t => RawAtThresholds(evaluation, acc, t, k))).ToList(), acc.R);
            AddCurve(overall, p.RecallThresholds, envelope, $"IoU {label} interpolated", color, dashed: false);
            AddCurve(overall, p.RecallThresholds, raw, $"IoU {label} raw", color, dashed: true);
        }
        Finish(overall, "Precision/recall, mean over classes (area all, maxDets " + p.MaxDetections[last] + ")");
        files.Add(Save(overall, dir, "pr_all.png"));

        foreach (var k in withGt)
        {
            var plot = new Plot();
            var name = report.PerCategory[k].Name;
            foreach (var (label, ts, color) in settings)
            {
                var envelope = Average(ts.Select(t => Interpolated(acc, t, k)).ToList(), acc.R);
                AddCurve(plot, p.RecallThresholds, envelope, $"IoU {label} interpolated", color, dashed: false);
                if (ts.Length == 1)
                {
                    // a single threshold has a true raw curve: one point per detection in score order
                    var (rc, pr) = evaluation.RawCurve(k, ts[0]);
                    AddCurve(plot, rc, pr, $"IoU {label} raw", color, dashed: true);
                }
                else
                {
                    var raw = Average(ts.Select(t => RawAtThresholds(evaluation, acc, t, k)).ToList(), acc.R);
                    AddCurve(plot, p.RecallThresholds, raw, $"IoU {label} raw (at recall thresholds)", color, dashed: true);
                }
            }
            Finish(plot, $"Precision/recall: {name} (category {acc.CategoryIds[k]})");
            files.Add(Save(plot, dir, $"pr_class_{acc.CategoryIds[k].ToString(CultureInfo.InvariantCulture)}.png"));
        }

        var bars = new Plot();
        var rows = report.PerCategory;
        var values = rows.Select(r => Math.Max(r.Ap, 0)).ToArray();
        bars.Add.Bars(values);
        bars.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Length).Select(i => (double)i).ToArray(),
            rows.Select(r => r.Name).ToArray());
        bars.Axes.Bottom.TickLabelStyle.Rotation = 90;
        bars.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        bars.Axes.Bottom.MinimumSize = 120;
        bars.Axes.SetLimits(-0.6, rows.Length - 0.4, 0, 1.02);
        bars.Title("AP @[.50:.95] per class (categories without ground truth shown as 0)");
        bars.YLabel("AP");
        files.Add(Save(bars, dir, "ap_per_class.png", Math.Max(Width, 40 + 18 * rows.Length)));
        return files;
    }

    static (string Label, int[] Thresholds, Color Color)[] IouSettings(CocoAccumulation acc)
    {
        var list = new List<(string, int[], Color)>();
        int t50 = acc.IouIndex(0.5), t75 = acc.IouIndex(0.75);
        if (t50 >= 0) list.Add((".50", [t50], Colors.C0));
        if (t75 >= 0) list.Add((".75", [t75], Colors.C1));
        var p = acc.Params;
        list.Add(($"{p.IouThresholds[0]:0.00}:{p.IouThresholds[^1]:0.00} mean", Enumerable.Range(0, acc.T).ToArray(), Colors.C2));
        return list.ToArray();
    }

    static double[] Interpolated(CocoAccumulation acc, int t, int k)
    {
        var q = new double[acc.R];
        for (int r = 0; r < acc.R; r++)
            q[r] = acc.PrecisionAt(t, r, k, 0, acc.M - 1);
        return q;
    }

    static double[] RawAtThresholds(CocoEvaluation evaluation, CocoAccumulation acc, int t, int k)
    {
        var (rc, pr) = evaluation.RawCurve(k, t);
        var recThrs = acc.Params.RecallThresholds;
        var q = new double[recThrs.Length];
        int i = 0;
        for (int r = 0; r < recThrs.Length; r++)
        {
            while (i < rc.Length && rc[i] < recThrs[r])
                i++;
            q[r] = i < rc.Length ? pr[i] : 0;
        }
        return q;
    }

    static double[] Average(IReadOnlyList<double[]> curves, int length)
    {
        var mean = new double[length];
        if (curves.Count == 0)
            return mean;
        foreach (var c in curves)
            for (int i = 0; i < length; i++)
                mean[i] += c[i];
        for (int i = 0; i < length; i++)
            mean[i] /= curves.Count;
        return mean;
    }

    static void AddCurve(Plot plot, double[] x, double[] y, string label, Color color, bool dashed)
    {
        if (x.Length == 0)
            return;
        var s = plot.Add.ScatterLine(x, y);
        s.LegendText = label;
        s.Color = color;
        s.LineWidth = dashed ? 1.5f : 2.5f;
        s.LinePattern = dashed ? LinePattern.Dashed : LinePattern.Solid;
    }

    static void Finish(Plot plot, string title)
    {
        plot.Title(title);
        plot.XLabel("recall");
        plot.YLabel("precision");
        plot.Axes.SetLimits(0, 1, 0, 1.02);
        plot.ShowLegend(Alignment.LowerLeft);
    }

    /// <summary>Saves atomically, replacing only a regular file (<see cref="AtomicFile"/>).</summary>
    static string Save(Plot plot, string dir, string name, int width = Width)
    {
        var path = Path.Combine(dir, name);
        AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, Height, ImageFormat.Png));
        return path;
    }
}
