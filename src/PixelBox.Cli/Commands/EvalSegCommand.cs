using System.CommandLine;
using PixelBox.Cli.Shared;
using System.Globalization;
using PixelBox.Masks;
using PixelBox.Metrics;
using PixelBox.Visualization;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>
/// <c>pixelbox eval seg</c>: semantic-segmentation metrics of predicted index masks against ground truth, over one
/// confusion matrix for the whole folder (the benchmark definition of mIoU).
/// </summary>
public static class EvalSegCommand
{
    public static Command Create()
    {
        var gt = new Option<string>("--gt") { Description = "Folder of ground-truth masks (8-bit grayscale or palette PNG, pixel value = class index)", Required = true, HelpName = "DIR" };
        var pred = new Option<string>("--pred") { Description = "Folder of predicted masks, same format, paired with --gt by file name", Required = true, HelpName = "DIR" };
        // Masks hold 8-bit labels: at most 256 classes.
        var numClasses = new Option<int>("--num-classes") { Description = "Number of classes C (1-256, masks hold 8-bit labels); labels are 0..C-1", Required = true, HelpName = "C" }
            .InRange(1, 256);
        var ignoreIndex = new Option<int>("--ignore-index") { Description = "Ground-truth label to skip, outside 0..C-1 (-1: none)", DefaultValueFactory = _ => 255, HelpName = "L" }
            .InRange(-1, 255);
        var names = new Option<string?>("--names") { Description = "Comma-separated class names, C of them", HelpName = "A,B,..." };
        var json = new Option<string?>("--json") { Description = "Write the metrics and confusion matrix as JSON to this file", HelpName = "FILE" };
        var plot = new Option<string?>("--plot") { Description = "Draw the row-normalised confusion matrix to this PNG file", HelpName = "FILE" };

        var command = new Command("seg", "Evaluate semantic segmentation masks: pixel accuracy, mean accuracy, per-class and mean IoU, frequency-weighted IoU, Dice.")
        {
            gt, pred, numClasses, ignoreIndex, names, json, plot,
        };
        command.SetAction(result => Run(
            result.GetValue(gt)!, result.GetValue(pred)!, result.GetValue(numClasses), result.GetValue(ignoreIndex),
            result.GetValue(names), result.GetValue(json), result.GetValue(plot)));
        return command;
    }

    static int Run(string gtDir, string predDir, int numClasses, int ignoreIndex, string? namesOption, string? jsonPath, string? plotPath)
    {
        if (ignoreIndex >= 0 && ignoreIndex < numClasses)
            throw new InputException("--ignore-index", $"{ignoreIndex} is a class index; it must lie outside [0, {numClasses}) (-1 for none)");
        var names = namesOption is null ? SegmentationReport.IndexNames(numClasses) : namesOption.Split(',', StringSplitOptions.TrimEntries);
        if (names.Length != numClasses)
            throw new InputException("--names", $"{names.Length} names for {numClasses} classes");

        var pairs = PairByFileName(gtDir, predDir);
        var plan = new OutputPlan();
        foreach (var (gtMask, predMask) in pairs)
            plan.Input(gtMask, "the ground-truth mask").Input(predMask, "the predicted mask");
        if (jsonPath != null)
            plan.Output(jsonPath, "--json");
        if (plotPath != null)
            plan.Output(plotPath, "--plot");
        plan.Check();
        var cm = Evaluate(pairs, numClasses, ignoreIndex >= 0 ? ignoreIndex : null);

        PrintTable(cm, names, pairs.Count);
        if (jsonPath != null)
        {
            AtomicFile.WriteAllBytes(jsonPath, SegmentationReport.ToJson(cm, names, pairs.Count));
            Console.WriteLine($"wrote {jsonPath}");
        }
        if (plotPath != null)
        {
            ConfusionMatrixPlot.Save(cm, names, plotPath);
            Console.WriteLine($"wrote {plotPath}");
        }
        return 0;
    }

    /// <summary>The .png files of both folders, paired by name; every file needs its partner.</summary>
    static List<(string Gt, string Pred)> PairByFileName(string gtDir, string predDir)
    {
        var gtNames = PngNames(gtDir);
        var predNames = PngNames(predDir);
        if (gtNames.Count == 0)
            throw new InputException(gtDir, "no .png masks found");
        foreach (var name in gtNames)
            if (!predNames.Contains(name))
                throw new InputException(Path.Combine(predDir, name), $"missing prediction for ground-truth mask {Path.Combine(gtDir, name)}");
        foreach (var name in predNames)
            if (!gtNames.Contains(name))
                throw new InputException(Path.Combine(predDir, name), $"prediction has no ground-truth mask {Path.Combine(gtDir, name)}");
        return gtNames.Select(n => (Path.Combine(gtDir, n), Path.Combine(predDir, n))).ToList();
    }

    static SortedSet<string> PngNames(string dir)
    {
        var kind = FileKinds.Of(dir);
        if (kind != FileKind.Directory)
            throw new InputException(dir, kind == FileKind.Missing ? "folder not found" : $"is {FileKinds.Describe(kind)}; give a folder of PNG masks");
        var options = new EnumerationOptions { MatchCasing = MatchCasing.CaseInsensitive };
        try
        {
            return new SortedSet<string>(Directory.EnumerateFiles(dir, "*.png", options).Select(Path.GetFileName)!, StringComparer.Ordinal);
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException(dir, "permission denied (the folder cannot be listed)");
        }
    }

    /// <summary>One confusion matrix over all pairs. Files are decoded in parallel (PNG decoding dominates), each
    /// worker counting into its own matrix; if files are bad, the first bad one in name order is reported.</summary>
    static ConfusionMatrix Evaluate(List<(string Gt, string Pred)> pairs, int numClasses, int? ignoreIndex)
    {
        var total = new ConfusionMatrix(numClasses, ignoreIndex);
        var errors = new InputException?[pairs.Count];
        Parallel.For(0, pairs.Count,
            () => new ConfusionMatrix(numClasses, ignoreIndex),
            (i, _, cm) =>
            {
                try { Accumulate(cm, pairs[i].Gt, pairs[i].Pred); }
                catch (InputException e) { errors[i] = e; }
                return cm;
            },
            cm => { lock (total) total.Merge(cm); });
        if (errors.FirstOrDefault(e => e != null) is { } first)
            throw first;
        return total;
    }

    static void Accumulate(ConfusionMatrix cm, string gtPath, string predPath)
    {
        var gt = IndexMaskPng.Read(gtPath);
        var pred = IndexMaskPng.Read(predPath);
        if (gt.Width != pred.Width || gt.Height != pred.Height)
            throw new InputException(predPath, $"size {pred.Width}x{pred.Height} differs from the ground truth's {gt.Width}x{gt.Height} ({gtPath})");
        try
        {
            cm.Update(gt.Pixels, pred.Pixels);
        }
        catch (LabelOutOfRangeException e)
        {
            long x = e.Position % gt.Width, y = e.Position / gt.Width;
            throw new InputException(e.InPrediction ? predPath : gtPath, e.DescribeAt($"(x={x}, y={y})"));
        }
    }

    static void PrintTable(ConfusionMatrix cm, IReadOnlyList<string> names, int images)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = 160; // a file or pipe has no width: don't wrap at 80
        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in new[] { "class", "name", "IoU", "acc", "Dice", "prec", "GT px", "pred px" })
            table.AddColumn(new TableColumn(header).RightAligned());
        table.Columns[1].LeftAligned();
        var (iou, accuracy, dice, precision) = (cm.IoU, cm.ClassAccuracy, cm.Dice, cm.Precision);
        var (gt, pred) = (cm.GtPixels, cm.PredPixels);
        for (int c = 0; c < cm.NumClasses; c++)
            table.AddRow(c.ToString(CultureInfo.InvariantCulture), Markup.Escape(names[c]), Format(iou[c]), Format(accuracy[c]), Format(dice[c]),
                Format(precision[c]), gt[c].ToString(CultureInfo.InvariantCulture), pred[c].ToString(CultureInfo.InvariantCulture));
        console.Write(table);

        var excluded = cm.ClassesExcludedFromMeanIoU;
        void Line(string label, string value) => console.WriteLine($"{label,-24}{value}");
        Line("images", images.ToString(CultureInfo.InvariantCulture));
        Line("pixels", $"{cm.TotalPixels} counted, {cm.IgnoredPixels} ignored (GT = {cm.IgnoreIndex?.ToString(CultureInfo.InvariantCulture) ?? "none"})");
        Line("pixel accuracy", Format(cm.PixelAccuracy));
        Line("mean accuracy", $"{Format(cm.MeanAccuracy)}  (over the {cm.NumClasses - cm.ClassesWithoutGt.Length} classes with GT pixels)");
        Line("mIoU", $"{Format(cm.MeanIoU)}  (over {cm.NumClasses - excluded.Length} classes)");
        Line("frequency-weighted IoU", Format(cm.FrequencyWeightedIoU));
        if (excluded.Length > 0)
            console.WriteLine($"left out of mIoU (absent from GT and prediction, IoU undefined): {string.Join(", ", excluded.Select(c => names[c] == c.ToString(CultureInfo.InvariantCulture) ? names[c] : $"{c} ({names[c]})"))}");
    }

    /// <summary>Four decimals; "n/a" for undefined (NaN) values.</summary>
    static string Format(double v) => double.IsNaN(v) ? "n/a" : v.ToString("F4", CultureInfo.InvariantCulture);
}
