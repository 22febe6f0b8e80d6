using PixelBox.Cli;

namespace PixelBox.Tests.Cli;

/// <summary>
/// Runs the CLI in-process with stdout and stderr captured. The console is process-global, so every test
/// class that uses this must be in the <see cref="Collection"/> collection: xunit never runs one
/// collection's tests in parallel with each other.
/// </summary>
public static class CliRunner
{
    public const string Collection = "Console";

    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = CliApp.Run(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }
}
