using System.CommandLine;
using System.Globalization;
using System.Runtime.CompilerServices;
using PixelBox.Coco;

namespace PixelBox.Cli.Commands;

/// <summary>
/// `pixelbox eval coco --gt GT.json --dt DT.json [--iou-type bbox|segm] [--max-dets 1,10,100] [--json OUT]
/// [--plots DIR]`: pycocotools' summary, a per-class table, optional JSON report and plots.
/// Touches no TorchSharp type, so the native library is never loaded on this path.
/// </summary>
public static class EvalCocoCommand
{
    public static Command Create()
    {
        var gt = new Option<string>("--gt") { Description = "COCO ground-truth JSON", Required = true };
        var dt = new Option<string>("--dt") { Description = "COCO results JSON (a list; may be empty)", Required = true };
        var iouType = new Option<string>("--iou-type") { Description = "bbox or segm", DefaultValueFactory = _ => "bbox" };
        iouType.AcceptOnlyFromAmong("bbox", "segm");
        var maxDets = new Option<string>("--max-dets") { Description = "comma-separated maxDets, e.g. 1,10,100", DefaultValueFactory = _ => "1,10,100" };
        var json = new Option<string?>("--json") { Description = "write the report as JSON to this file" };
        var plots = new Option<string?>("--plots") { Description = "write PR curves and an AP bar chart (PNG) to this folder" };
        var command = new Command("coco", "COCO detection metrics (AP/AR), exactly as pycocotools computes them.")
        {
            gt, dt, iouType, maxDets, json, plots,
        };
        command.SetAction(parse => Run(
            parse.GetValue(gt)!, parse.GetValue(dt)!, parse.GetValue(iouType) == "segm" ? CocoIouType.Segm : CocoIouType.Bbox,
            ParseMaxDets(parse.GetValue(maxDets)!), parse.GetValue(json), parse.GetValue(plots)));
        return command;
    }

    static int[] ParseMaxDets(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
                throw new InputException($"--max-dets: '{text}' is not a comma-separated list of positive integers");
        if (values.Length == 0)
            throw new InputException("--max-dets: at least one value is needed");
        return values;
    }

    static int Run(string gtPath, string dtPath, CocoIouType iouType, int[] maxDets, string? jsonPath, string? plotDir)
    {
        var timings = PhaseTimings.FromEnvironment();
        timings?.Mark("startup (runtime, JIT, command line)");
        var inputs = CocoFiles.Load(gtPath, dtPath, iouType);
        timings?.Mark("load");
        foreach (var w in inputs.Warnings)
            Console.Error.WriteLine("warning: " + w);
        var evaluator = new CocoEvaluator(inputs.GroundTruth, inputs.Detections,
            new CocoParams { IouType = iouType, MaxDetections = maxDets });
        var evaluation = evaluator.Evaluate();
        timings?.Mark("evaluate");
        var accumulation = evaluation.Accumulate();
        timings?.Mark("accumulate");
        var report = CocoReport.Create(inputs.GroundTruth, evaluation, accumulation, iouType);
        var stdout = Console.Out;
        stdout.Write(report.Summary.Text);
        stdout.WriteLine();
        stdout.Write(report.FormatTable());
        if (jsonPath is not null)
            AtomicFile.Write(jsonPath, report.WriteJson);
        if (plotDir is not null)
            WritePlots(plotDir, evaluation, accumulation, report);
        timings?.Mark("summarize and print");
        return 0;
    }

    // Kept out of Run so the plotting assembly (ScottPlot) loads only when plots are asked for.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void WritePlots(string dir, CocoEvaluation evaluation, CocoAccumulation accumulation, CocoReport report)
    {
        OutputPaths.CreateFolder(dir);
        foreach (var file in PixelBox.Visualization.CocoPlots.WriteAll(dir, evaluation, accumulation, report))
            Console.Out.WriteLine("wrote " + file);
    }
}
