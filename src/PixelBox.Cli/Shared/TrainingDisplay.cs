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
            TrainingDisplay.Say($"Interrupted after step {trainer.State.Iteration}: saved in {trainer.LastCheckpointPath}; continue with --resume.");
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
        PrintPaths(
            ("best checkpoint", trainer.BestCheckpointPath),
            ("last checkpoint", trainer.LastCheckpointPath),
            ("metrics log", trainer.MetricsLogPath),
            ("curves", trainer.CurvesPath));
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

    /// <summary>
    /// Prints (what, path) pairs as aligned plain lines, not a table: Spectre wraps a table cell that does not
    /// fit inside the name (even a NoWrap column, tried at 80 columns), which breaks paths for copying; a plain
    /// line (written past Spectre, which wraps markup at the console width too) is at worst soft-wrapped by the terminal.
    /// </summary>
    public static void PrintPaths(params (string What, string Path)[] rows)
    {
        int width = rows.Max(r => r.What.Length);
        foreach (var (what, path) in rows)
            Console.Out.WriteLine($"  {what.PadRight(width)}  {path}"); // not Spectre: it would wrap a long path mid-name at the console width
    }

    /// <summary>A plain line (no markup): Spectre wraps at the console width, 80 columns when output is redirected,
    /// which breaks paths mid-name and messages scripts read; the terminal's own soft wrap keeps them whole.</summary>
    public static void Say(string line) => Console.Out.WriteLine(line);

    public static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}:{t:mm\\:ss}" : $"{t:mm\\:ss}";
}
