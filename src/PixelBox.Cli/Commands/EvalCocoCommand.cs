using System.CommandLine;
using PixelBox.Cli.Shared;
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
        var gt = new Option<string>("--gt") { Description = "COCO ground-truth JSON", Required = true, HelpName = "GT.json" };
        var dt = new Option<string>("--dt") { Description = "COCO results JSON (a list; may be empty)", Required = true, HelpName = "DT.json" };
        var iouType = new Option<string>("--iou-type") { Description = "Boxes (bbox) or masks (segm)", DefaultValueFactory = _ => "bbox", HelpName = "bbox|segm" }
            .OneOf(["bbox", "segm"]);
        var maxDets = new Option<string>("--max-dets")
        {
            Description = $"Comma-separated numbers of detections per image to keep (1 to {MaxMaxDetsValues} values, each 1 to {MaxDetsLimit:N0})",
            DefaultValueFactory = _ => "1,10,100", HelpName = "M1,M2,...",
        };
        var json = new Option<string?>("--json") { Description = "Write the report as JSON to this file", HelpName = "FILE" };
        var plots = new Option<string?>("--plots") { Description = "Write PR curves and an AP bar chart (PNG) to this folder", HelpName = "DIR" };
        var command = new Command("coco", "COCO detection metrics (AP/AR), exactly as pycocotools computes them.")
        {
            gt, dt, iouType, maxDets, json, plots,
        };
        command.SetAction(parse => Run(
            parse.GetValue(gt)!, parse.GetValue(dt)!, parse.GetValue(iouType) == "segm" ? CocoIouType.Segm : CocoIouType.Bbox,
            ParseMaxDets(parse.GetValue(maxDets)!), parse.GetValue(json), parse.GetValue(plots)));
        return command;
    }

    /// <summary>pycocotools keeps maxDets[-1] detections per image and reports one AR per value; a handful of
    /// values is what anyone reads, and more only multiplies the accumulation arrays.</summary>
    const int MaxMaxDetsValues = 16;

    /// <summary>More detections per image than any dataset holds (COCO's evaluation caps at 100).</summary>
    const int MaxDetsLimit = 1_000_000;

    static int[] ParseMaxDets(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length > MaxMaxDetsValues)
            throw new InputException("--max-dets", $"{parts.Length} values; at most {MaxMaxDetsValues}");
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]) || values[i] is < 1 or > MaxDetsLimit)
                throw new InputException("--max-dets", $"'{parts[i]}' in '{text}' is not a whole number from 1 to {MaxDetsLimit:N0}");
            if (Array.IndexOf(values, values[i], 0, i) >= 0)
                throw new InputException("--max-dets", $"{values[i]} is given twice in '{text}'");
        }
        return values;
    }

    /// <summary>Before any work: --json is not an input, and no plot lands on one.</summary>
    static void CheckOutputs(string gtPath, string dtPath, string? jsonPath, string? plotDir)
    {
        var plan = new OutputPlan().Input(gtPath, "the ground truth (--gt)").Input(dtPath, "the results (--dt)");
        if (jsonPath is not null)
            plan.Output(jsonPath, "--json");
        if (plotDir is not null)
            foreach (var input in new[] { gtPath, dtPath })
                if (Path.GetDirectoryName(Path.GetFullPath(input)) is { } folder && OutputPlan.IsWithin(folder, plotDir)
                    && OutputPlan.IsWithin(plotDir, folder) && IsPlotName(Path.GetFileName(input)))
                    plan.Output(Path.Combine(plotDir, Path.GetFileName(input)), "a plot (--plots)");
        plan.Check();
    }

    static bool IsPlotName(string name) =>
        name is "pr_all.png" or "ap_per_class.png" || (name.StartsWith("pr_class_", StringComparison.Ordinal) && name.EndsWith(".png", StringComparison.Ordinal));

    static int Run(string gtPath, string dtPath, CocoIouType iouType, int[] maxDets, string? jsonPath, string? plotDir)
    {
        var timings = PhaseTimings.FromEnvironment();
        timings?.Mark("startup (runtime, JIT, command line)");
        CheckOutputs(gtPath, dtPath, jsonPath, plotDir);
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
        {
            AtomicFile.Write(jsonPath, report.WriteJson);
            stdout.WriteLine("wrote " + jsonPath);
        }
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
