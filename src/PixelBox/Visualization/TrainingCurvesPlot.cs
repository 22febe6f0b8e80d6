using PixelBox.Training;
using ScottPlot;

namespace PixelBox.Visualization;

/// <summary>The curves of a run: training loss per epoch above (and each named part of a loss made of parts,
/// e.g. a detector's box, cls and dfl), the validation selection metric below.</summary>
public static class TrainingCurvesPlot
{
    public static void Save(IReadOnlyList<EpochSummary> history, string metricName, string path, int width = 900, int height = 700)
    {
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var figure = new Multiplot();
        figure.AddPlots(2);

        var lossPlot = figure.GetPlot(0);
        var lossLine = lossPlot.Add.Scatter(epochs, history.Select(h => h.TrainLoss).ToArray());
        lossLine.LegendText = "train loss";
        var partNames = history.Where(h => h.LossParts is not null).SelectMany(h => h.LossParts!.Keys).Distinct().ToList();
        foreach (var part in partNames)
        {
            var withPart = history.Where(h => h.LossParts?.ContainsKey(part) == true).ToArray();
            var partLine = lossPlot.Add.Scatter(withPart.Select(h => (double)h.Epoch).ToArray(), withPart.Select(h => h.LossParts![part]).ToArray());
            partLine.LegendText = part;
            partLine.LinePattern = LinePattern.Dashed;
        }
        lossPlot.Legend.Alignment = Alignment.UpperRight; // a falling loss leaves that corner free
        lossPlot.Title("Training loss");
        lossPlot.XLabel("epoch");
        lossPlot.YLabel("loss");

        var metricPlot = figure.GetPlot(1);
        var measured = history.Where(h => h.Metrics.TryGetValue(metricName, out var v) && double.IsFinite(v)).ToArray();
        if (measured.Length > 0)
            metricPlot.Add.Scatter(
                measured.Select(h => (double)h.Epoch).ToArray(),
                measured.Select(h => h.Metrics[metricName]).ToArray());
        metricPlot.Title($"Validation {metricName}");
        metricPlot.XLabel("epoch");
        metricPlot.YLabel(metricName);

        // Epochs are whole numbers: no 1.2, 1.4, ... ticks between them.
        foreach (var plot in new[] { lossPlot, metricPlot })
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };

        var png = figure.Render(width, height).GetImageBytes(ImageFormat.Png);
        AtomicFile.WriteAllBytes(path, png);
    }
}
