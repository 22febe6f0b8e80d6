using Spectre.Console;

namespace PixelBox.Cli.Shared;

/// <summary>
/// Spectre progress bars on a terminal. When output is redirected (a log file, CI, tests) there is no
/// live display, only the lines commands print, so concurrent commands in one process cannot collide
/// over Spectre's single live display either.
/// </summary>
static class LiveProgress
{
    public static void Run(Action<ProgressContext?> body)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            body(null);
            return;
        }
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .Start(body);
    }
}
