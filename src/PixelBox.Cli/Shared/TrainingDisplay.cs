using PixelBox.Training;
using Spectre.Console;

namespace PixelBox.Cli.Shared;

/// <summary>Renders a trainer's progress events with Spectre.Console (the library itself knows no console).</summary>
static class TrainingDisplay
{
    /// <summary>Runs the trainer under a live progress bar; null when cancelled (Ctrl+C). Epoch lines show the
    /// selection metric and <paramref name="alsoShow"/>.</summary>
    public static TrainingState? Run<TBatch>(Trainer<TBatch> trainer, CancellationToken cancellation, params string[] alsoShow)
        where TBatch : IDisposable
    {
        TrainingState? state = null;
        LiveProgress.Run(context =>
        {
            var bar = context?.AddTask("training", maxValue: trainer.TotalIterations);
            bar?.Value = trainer.State.Iteration;
            trainer.IterationCompleted += p =>
            {
                bar?.Value = p.Iteration;
                bar?.Description = StepLine(p);
            };
            trainer.EpochCompleted += e => AnsiConsole.MarkupLine(EpochLine(e, trainer.State.Options.SelectionMetric, alsoShow));
            try
            {
                state = trainer.Run(cancellation);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                bar?.StopTask();
            }
        });
        if (state is null)
            AnsiConsole.MarkupLine($"[yellow]Interrupted[/] after step {trainer.State.Iteration}: saved in {Markup.Escape(trainer.LastCheckpointPath)}; continue with --resume.");
        return state;
    }

    public static string StepLine(IterationProgress p) =>
        $"epoch {p.Epoch}/{p.Epochs}  loss {p.EpochLoss:F4}{Parts(p.EpochLossParts)}  lr {p.LearningRate:0.###e+0}  {p.IterationsPerSecond:F1} it/s  ETA {Format(p.Remaining)}";

    /// <summary>" (box 0.41, cls 0.93)" for a loss made of named parts, "" for a single term.</summary>
    static string Parts(IReadOnlyDictionary<string, double>? parts) =>
        parts is null || parts.Count == 0 ? "" : $" ({string.Join(", ", parts.Select(p => $"{Markup.Escape(p.Key)} {p.Value:F3}"))})";

    public static void PrintSummary<TBatch>(Trainer<TBatch> trainer, TrainingState state) where TBatch : IDisposable
    {
        var metric = state.Options.SelectionMetric;
        AnsiConsole.MarkupLine($"Best {metric} [bold]{state.BestMetric:F4}[/] at epoch {state.BestEpoch} of {state.Epoch} ({Format(TimeSpan.FromSeconds(state.Seconds))})");
        var table = new Table().AddColumn("file").AddColumn("path");
        table.AddRow("best checkpoint", Markup.Escape(trainer.BestCheckpointPath));
        table.AddRow("last checkpoint", Markup.Escape(trainer.LastCheckpointPath));
        table.AddRow("metrics log", Markup.Escape(trainer.MetricsLogPath));
        table.AddRow("curves", Markup.Escape(trainer.CurvesPath));
        AnsiConsole.Write(table);
    }

    /// <summary>One line per epoch: training loss, the selection metric, then <paramref name="alsoShow"/> where present.</summary>
    public static string EpochLine(EpochSummary e, string metric, params string[] alsoShow)
    {
        var line = new System.Text.StringBuilder($"epoch {e.Epoch}: train loss {e.TrainLoss:F4}{Parts(e.LossParts)}");
        foreach (var name in alsoShow.Prepend(metric).Distinct())
            if (e.Metrics.TryGetValue(name, out var value))
                line.Append($"  {name} {value:F4}");
        line.Append($"  ({e.Seconds:F0} s)");
        if (e.IsBest) line.Append("  [green]best[/]");
        return line.ToString();
    }

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : $"{t:mm\\:ss}";
}
