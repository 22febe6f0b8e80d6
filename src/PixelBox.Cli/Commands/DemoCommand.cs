using System.CommandLine;
using PixelBox.Training;
using PixelBox.Cli.Shared;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox demo`: generate Shapes, train unet-same, evaluate, and show where the results are.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "A small run that finishes in under a minute" };
        var output = new Option<string>("--out") { Description = "Output folder", DefaultValueFactory = _ => Path.Combine("runs", "demo"), HelpName = "DIR" };
        var precision = TorchSetup.PrecisionOption("validation and the final evaluation (training is fp32)");
        var threads = TorchSetup.ThreadsOption();
        var command = new Command("demo", "End to end on synthetic data: generate Shapes, train unet-same, evaluate on the validation split, write metrics, overlays and plots.")
        {
            quick, output, precision, threads,
        };
        command.SetAction((parse, cancellation) =>
        {
            TorchSetup.Configure(parse.GetValue(threads));
            var settings = (parse.GetValue(quick) ? ShapesDemoSettings.Quick : ShapesDemoSettings.Full) with { Precision = parse.GetValue(precision) };
            var demo = new ShapesDemo(settings, parse.GetValue(output)!);
            AnsiConsole.MarkupLine($"[bold]PixelBox demo[/]{(parse.GetValue(quick) ? " (quick)" : "")}: {settings.Images} Shapes images of " +
                                   $"{settings.ImageSize}x{settings.ImageSize}, {settings.Model}, {settings.Epochs} epochs -> {Markup.Escape(demo.OutDir)}");
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
                return Task.FromResult(130);
            }
            Print(result);
            return Task.FromResult(0);
        });
        return command;
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

        var files = new Table().AddColumn("output").AddColumn("path");
        files.AddRow("metrics", Markup.Escape(r.MetricsPath));
        files.AddRow("checkpoint", Markup.Escape(r.CheckpointPath));
        files.AddRow("training curves", Markup.Escape(r.CurvesPath));
        files.AddRow("confusion matrix", Markup.Escape(r.ConfusionMatrixPath));
        files.AddRow("overlays (image | truth | prediction)", Markup.Escape(Path.GetDirectoryName(r.OverlayPaths.FirstOrDefault() ?? r.OutDir)!));
        AnsiConsole.Write(files);
    }
}
