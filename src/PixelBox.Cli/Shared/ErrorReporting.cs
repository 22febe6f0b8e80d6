using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text;
using System.Text.RegularExpressions;

namespace PixelBox.Cli.Shared;

/// <summary>
/// How failures reach the user: a user's mistake is one line <c>error: FILE: problem</c> and exit code 2;
/// a defect of ours is one line <c>internal error: ...</c>, exit code 1, and the full trace in a log file
/// whose path is printed (and on stderr with --verbose). No user ever sees a stack trace uninvited.
/// </summary>
static partial class ErrorReporting
{
    public const int UserError = 2;
    public const int InternalError = 1;
    public const int Interrupted = 130;

    public static readonly Option<bool> VerboseOption = new("--verbose")
    {
        Description = "On an internal error, print the stack trace too (it always goes to a log file)",
        Recursive = true,
    };

    /// <summary>The exit code for an exception that ended a command, after telling the user.</summary>
    public static int Report(Exception e, IReadOnlyList<string> args, bool verbose)
    {
        switch (Unwrap(e))
        {
            case InputException input:
                Console.Error.WriteLine($"error: {OneLine(input.Message)}");
                return UserError;
            case OperationCanceledException:
                Console.Error.WriteLine("interrupted");
                return Interrupted;
            case UnauthorizedAccessException or IOException when Unwrap(e) is not EndOfStreamException:
                // The environment refused a file operation we did not wrap: still the user's file, not our defect.
                Console.Error.WriteLine($"error: {FileProblem(Unwrap(e).Message)}");
                return UserError;
            case OutOfMemoryException:
                Console.Error.WriteLine("error: out of memory (try smaller images, a smaller batch or a smaller model)");
                return UserError;
            default:
                return ReportDefect(e, args, verbose);
        }
    }

    /// <summary>
    /// Parse errors: a bad or missing option value is one line with a hint to --help; an unknown command
    /// or option (or none given) keeps System.CommandLine's message and help. Both exit 2.
    /// </summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        var valueError = parse.Errors.FirstOrDefault(e => e.SymbolResult is OptionResult or ArgumentResult);
        if (valueError is null)
        {
            parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            return UserError;
        }
        Console.Error.WriteLine($"error: {ValueProblem(valueError)} (see '{CommandPath(parse.CommandResult)} --help')");
        return UserError;
    }

    static string ValueProblem(ParseError error)
    {
        if (error.SymbolResult is OptionResult { Option: var option } result)
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (token is null)
                return result.Implicit || result.IdentifierTokenCount == 0 ? $"{option.Name}: required" : $"{option.Name}: needs a value";
            var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType;
            string? expected = type switch
            {
                _ when type == typeof(int) || type == typeof(long) => "a whole number",
                _ when type == typeof(double) || type == typeof(float) => "a number",
                _ when type == typeof(bool) => "true or false",
                { IsEnum: true } => "one of " + string.Join(", ", Enum.GetNames(type).Select(n => n.ToLowerInvariant())),
                _ => null,
            };
            if (expected is not null && error.Message.StartsWith("Cannot parse", StringComparison.Ordinal))
                return $"{option.Name}: '{token}' is not {expected}";
            return $"{option.Name}: {OneLine(error.Message)}";
        }
        return OneLine(error.Message);
    }

    static string CommandPath(CommandResult command)
    {
        var names = new List<string>();
        for (SymbolResult? r = command; r is CommandResult c; r = c.Parent)
            names.Add(c.Command.Name);
        names.Reverse();
        return string.Join(' ', names);
    }

    static int ReportDefect(Exception e, IReadOnlyList<string> args, bool verbose)
    {
        var inner = Unwrap(e);
        string? log = WriteLog(e, args);
        Console.Error.WriteLine($"internal error: {inner.GetType().Name}: {OneLine(inner.Message)}");
        Console.Error.WriteLine(log is null
            ? "(a defect of PixelBox; the trace could not be written to a log file)"
            : $"(a defect of PixelBox; please report it with the trace in {log})");
        if (verbose || log is null)
            Console.Error.WriteLine(e.ToString());
        return InternalError;
    }

    /// <summary>Writes the command line and trace to a fresh file under the log folder; null when that fails.</summary>
    static string? WriteLog(Exception e, IReadOnlyList<string> args)
    {
        try
        {
            var dir = LogFolder();
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, $"internal-error-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.log");
            var text = new StringBuilder()
                .AppendLine($"pixelbox {typeof(ErrorReporting).Assembly.GetName().Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}")
                .AppendLine($"time (UTC): {DateTime.UtcNow:O}")
                .AppendLine($"arguments: {string.Join(' ', args.Select(a => a.Contains(' ') ? $"\"{a}\"" : a))}")
                .AppendLine($"working folder: {Environment.CurrentDirectory}")
                .AppendLine()
                .AppendLine(e.ToString());
            File.WriteAllText(path, text.ToString());
            return path;
        }
        catch (Exception logFailure) when (logFailure is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>$PIXELBOX_LOG_DIR, else $XDG_STATE_HOME/pixelbox, else ~/.local/state/pixelbox, else the temp folder.</summary>
    static string LogFolder()
    {
        var explicitDir = Environment.GetEnvironmentVariable("PIXELBOX_LOG_DIR");
        if (!string.IsNullOrEmpty(explicitDir))
            return explicitDir;
        var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        if (string.IsNullOrEmpty(state))
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            state = string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".local", "state");
        }
        return state is null ? Path.Combine(Path.GetTempPath(), "pixelbox") : Path.Combine(state, "pixelbox");
    }

    /// <summary>Task and reflection wrappers hide the exception that matters.</summary>
    static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        return e;
    }

    /// <summary>.NET's "Access to the path '/x' is denied." as "/x: access to the path is denied".</summary>
    static string FileProblem(string message)
    {
        var match = QuotedPath().Match(message);
        if (!match.Success)
            return OneLine(message);
        var path = match.Groups[1].Value;
        var problem = (message[..match.Index] + message[(match.Index + match.Length)..]).Replace("  ", " ").Trim().TrimEnd('.', ':', ' ');
        return problem.Length == 0 ? $"{path}: cannot be used" : $"{path}: {OneLine(char.ToLowerInvariant(problem[0]) + problem[1..])}";
    }

    static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    [GeneratedRegex(@"'(/[^']*|[A-Za-z]:\\[^']*)'")]
    private static partial Regex QuotedPath();
}
