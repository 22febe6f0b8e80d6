using System.CommandLine;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Training;
using PixelBox.Cli.Shared;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox demo`: generate Shapes, train unet-same or another segmentation model (or a detector with --task det), evaluate, and show where the results are.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var task = new Option<string>("--task") { Description = "seg (unet-same, mIoU) or det (a detector, COCO AP)", DefaultValueFactory = _ => "seg", HelpName = "seg|det" };
        task.AcceptOnlyFromAmong("seg", "det");
        var model = new Option<string?>("--model")
        {
            Description = $"The model to train (unet-same, or yolo with --task det, when not given): a segmentation model ({string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Segmentation))}) " +
                          $"or, with --task det, a detector ({string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Detection))})",
            HelpName = "NAME",
        };
        var quick = new Option<bool>("--quick") { Description = "A small run that finishes in under a minute" };
        var output = new Option<string?>("--out") { Description = "Output folder (default runs/demo, or runs/demo-det with --task det)", HelpName = "DIR" };
        var precision = TorchSetup.PrecisionOption("validation and the final evaluation (training is fp32)");
        var threads = TorchSetup.ThreadsOption();
        var command = new Command("demo", "End to end on synthetic data: generate Shapes, train unet-same or --model (--task det: a detector), evaluate on the validation split, write metrics, pictures and plots.")
        {
            task, model, quick, output, precision, threads,
        };
        command.SetAction((parse, cancellation) =>
        {
            TorchSetup.Configure(parse, threads);
            if (parse.GetValue(task) == "det")
            {
                return Task.FromResult(RunDetection(parse.GetValue(model), parse.GetValue(quick), parse.GetValue(precision),
                    parse.GetValue(output) ?? Path.Combine("runs", "demo-det"), cancellation));
            }
            var preset = parse.GetValue(quick) ? ShapesDemoSettings.Quick : ShapesDemoSettings.Full;
            var settings = (parse.GetValue(model) is { } name ? preset.ForModel(name) : preset) with { Precision = parse.GetValue(precision) };
            var demo = new ShapesDemo(settings, parse.GetValue(output) ?? Path.Combine("runs", "demo"));
            TrainingDisplay.Say($"PixelBox demo{(parse.GetValue(quick) ? " (quick)" : "")}: {settings.Images} Shapes images of " +
                                   $"{settings.ImageSize}x{settings.ImageSize}, {settings.Model}, {settings.Epochs} epochs -> {demo.OutDir}");
            ShapesDemoResult? result = null;
            LiveProgress.Run(context =>
            {
                ProgressTask? data = null, training = null, evaluating = null;
                demo.StageStarted += stage =>
                {
                    if (context is null) AnsiConsole.MarkupLine($"{stage}...");
                    if (stage == "generating data") data = context?.AddTask("generating data", maxValue: settings.Images);
                    if (stage == "training") training = context?.AddTask("training");
                    if (stage == "evaluating") evaluating = context?.AddTask("evaluating").IsIndeterminate();
                };
                demo.DataProgress += (done, _) => data?.Value = done;
                demo.IterationCompleted += p =>
                {
                    training?.MaxValue = p.TotalIterations;
                    training?.Value = p.Iteration;
                    training?.Description = TrainingDisplay.StepLine(p);
                };
                demo.EpochCompleted += e => AnsiConsole.MarkupLine(TrainingDisplay.EpochLine(e, "mean_iou", "pixel_accuracy"));
                try
                {
                    result = demo.Run(cancellation);
                }
                catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
                {
                }
                foreach (var task in new[] { data, training, evaluating })
                    task?.StopTask();
            });
            if (result is null)
            {
                AnsiConsole.MarkupLine("[yellow]Interrupted.[/]");
                return Task.FromResult(ErrorReporting.Interrupted);
            }
            Print(result);
            return Task.FromResult(0);
        });
        return command;
    }

    static int RunDetection(string? model, bool quick, Precision precision, string outDir, CancellationToken cancellation)
    {
        var settings = (quick ? DetectionDemoSettings.Quick : DetectionDemoSettings.Full).ForModel(model ?? "yolo") with { Precision = precision };
        var demo = new DetectionDemo(settings, outDir);
        AnsiConsole.MarkupLine($"[bold]PixelBox detection demo[/]{(quick ? " (quick)" : "")}: {settings.Images} Shapes images of " +
                               $"{settings.ImageSize}x{settings.ImageSize}, {Markup.Escape(settings.Model)} at {settings.InputSize}x{settings.InputSize}, " +
                               $"{settings.Epochs} epochs -> {Markup.Escape(demo.OutDir)}");
        DetectionDemoResult? result = null;
        LiveProgress.Run(context =>
        {
            ProgressTask? data = null, training = null, evaluating = null;
            demo.StageStarted += stage =>
            {
                if (context is null) AnsiConsole.MarkupLine($"{stage}...");
                if (stage == "generating data") data = context?.AddTask("generating data", maxValue: settings.Images);
                if (stage == "training") training = context?.AddTask("training");
                if (stage == "evaluating") evaluating = context?.AddTask("evaluating").IsIndeterminate();
            };
            demo.DataProgress += (done, _) => data?.Value = done;
            demo.IterationCompleted += p =>
            {
                training?.MaxValue = p.TotalIterations;
                training?.Value = p.Iteration;
                training?.Description = TrainingDisplay.StepLine(p);
            };
            demo.EpochCompleted += e => AnsiConsole.MarkupLine(TrainingDisplay.EpochLine(e, DetectionTraining.SelectionMetric, "ap50", "ap75"));
            try
            {
                result = demo.Run(cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
            }
            foreach (var task in new[] { data, training, evaluating })
                task?.StopTask();
        });
        if (result is null)
        {
            AnsiConsole.MarkupLine("[yellow]Interrupted.[/]");
            return ErrorReporting.Interrupted;
        }
        Print(result);
        return 0;
    }

    static void Print(DetectionDemoResult r)
    {
        static string F(double v) => v < 0 ? "-" : $"{v:F4}";
        var scores = new Table().Title("Validation (COCO bbox)").AddColumn("class").AddColumn(new TableColumn(Markup.Escape("AP@[.5:.95]")).RightAligned());
        for (int c = 0; c < r.ClassNames.Count; c++)
            scores.AddRow(Markup.Escape(r.ClassNames[c]), F(r.Val.PerClassAp[c]));
        scores.AddRow("[bold]AP[/]", $"[bold]{F(r.Val.Ap)}[/]");
        scores.AddRow("[bold]AP50[/]", $"[bold]{F(r.Val.Ap50)}[/]");
        scores.AddRow("AP75", F(r.Val.Ap75));
        scores.AddRow("AP small / medium / large", $"{F(r.Val.ApSmall)} / {F(r.Val.ApMedium)} / {F(r.Val.ApLarge)}");
        scores.AddRow("trivial baseline AP / AP50", $"{F(r.Baseline.Ap)} / {F(r.Baseline.Ap50)}");
        AnsiConsole.Write(scores);
        AnsiConsole.MarkupLine($"{r.Epochs} epochs in {TrainingDisplay.Format(TimeSpan.FromSeconds(r.TrainSeconds))}");

        TrainingDisplay.PrintPaths(
            ("metrics", r.MetricsPath),
            ("validation ground truth (COCO)", r.GroundTruthPath),
            ("validation detections (COCO results)", r.PredictionsPath),
            ("checkpoint", r.CheckpointPath),
            ("training curves", r.CurvesPath),
            ("PR curves, AP per class", r.PlotsDir),
            ("pictures (truth | detections)", Path.GetDirectoryName(r.PicturePaths.FirstOrDefault() ?? r.OutDir)!));
        TrainingDisplay.Say($"Check: pixelbox eval coco --gt {r.GroundTruthPath} --dt {r.PredictionsPath}");
    }

    static void Print(ShapesDemoResult r)
    {
        var scores = new Table().Title("Validation").AddColumn("class").AddColumn(new TableColumn("IoU").RightAligned());
        for (int c = 0; c < r.ClassNames.Count; c++)
            scores.AddRow(Markup.Escape(r.ClassNames[c]), double.IsFinite(r.PerClassIoU[c]) ? $"{r.PerClassIoU[c]:F4}" : "-");
        scores.AddRow("[bold]mean IoU[/]", $"[bold]{r.MeanIoU:F4}[/]");
        scores.AddRow("pixel accuracy", $"{r.PixelAccuracy:F4}");
        scores.AddRow("all-background mean IoU", $"{r.AllBackgroundMeanIoU:F4}");
        AnsiConsole.Write(scores);
        AnsiConsole.MarkupLine($"{r.Epochs} epochs in {TrainingDisplay.Format(TimeSpan.FromSeconds(r.TrainSeconds))}");

        TrainingDisplay.PrintPaths(
            ("metrics", r.MetricsPath),
            ("checkpoint", r.CheckpointPath),
            ("training curves", r.CurvesPath),
            ("confusion matrix", r.ConfusionMatrixPath),
            ("overlays (image | truth | prediction)", Path.GetDirectoryName(r.OverlayPaths.FirstOrDefault() ?? r.OutDir)!));
    }
}
