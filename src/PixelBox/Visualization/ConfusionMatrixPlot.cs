using System.Globalization;
using PixelBox.Metrics;
using ScottPlot;

namespace PixelBox.Visualization;

/// <summary>
/// Draws a confusion matrix as a heatmap: rows = ground truth, columns = prediction, each row normalised to sum to 1
/// (cell = share of the class's GT pixels predicted as the column class, so the diagonal is the per-class accuracy).
/// Class names label the axes and each cell shows its value; rows of classes without GT pixels are grey.
/// </summary>
public static class ConfusionMatrixPlot
{
    /// <summary>Renders the plot and writes it atomically as PNG to <paramref name="path"/>.</summary>
    public static void Save(ConfusionMatrix cm, IReadOnlyList<string> names, string path) =>
        AtomicFile.WriteAllBytes(path, RenderPng(cm, names));

    public static byte[] RenderPng(ConfusionMatrix cm, IReadOnlyList<string> names)
    {
        int n = cm.NumClasses;
        if (names.Count != n)
            throw new ArgumentException($"{names.Count} class names for {n} classes", nameof(names));
        var normalised = RowNormalised(cm);

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(normalised);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues().Reversed(); // white = 0, dark blue = 1
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.NaNCellColor = Colors.LightGray;
        plot.Add.ColorBar(heatmap);

        // The heatmap puts row 0 at the top, cell centres at integer coordinates: column p at x = p, row g at y = n-1-g.
        float fontSize = n <= 10 ? 16 : n <= 20 ? 12 : 8;
        for (int g = 0; g < n; g++)
            for (int p = 0; p < n; p++)
            {
                double v = normalised[g, p];
                if (double.IsNaN(v) || (n > 10 && v < 0.005)) continue; // bigger matrices: blank (near-)empty cells, for legibility
                var text = plot.Add.Text(v.ToString(n <= 20 ? "0.00" : "0.0", CultureInfo.InvariantCulture), p, n - 1 - g);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = fontSize;
                text.LabelFontColor = v > 0.55 ? Colors.White : Colors.Black;
            }

        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, names.ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            positions.Select(y => n - 1 - y).ToArray(), names.ToArray());
        if (names.Any(name => name.Length > 3))
        {
            // Long names go diagonally down-right from their tick; the axis panel grows to fit the longest.
            plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 0.5f * plot.Axes.Bottom.TickLabelStyle.FontSize * names.Max(name => name.Length) + 30;
        }
        plot.Axes.SetLimits(-0.5, n - 0.5, -0.5, n - 0.5);
        plot.HideGrid();
        plot.XLabel("prediction");
        plot.YLabel("ground truth");
        plot.Title(FormattableString.Invariant($"Confusion matrix (rows normalised)   pixel acc {cm.PixelAccuracy:0.000}   mIoU {cm.MeanIoU:0.000}"));

        int side = Math.Clamp(240 + 42 * n, 600, 1400);
        return plot.GetImageBytes(side + 120, side, ImageFormat.Png);
    }

    /// <summary>cm[g, p] / GT pixels of g; a row of NaN for a class without GT pixels.</summary>
    public static double[,] RowNormalised(ConfusionMatrix cm)
    {
        int n = cm.NumClasses;
        var gt = cm.GtPixels;
        var r = new double[n, n];
        for (int g = 0; g < n; g++)
            for (int p = 0; p < n; p++)
                r[g, p] = gt[g] == 0 ? double.NaN : (double)cm[g, p] / gt[g];
        return r;
    }
}
