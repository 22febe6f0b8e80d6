using System.CommandLine;
using System.CommandLine.Help;
using PixelBox.Cli.Shared;
using Spectre.Console;

namespace PixelBox.Cli;

/// <summary>The `pixelbox` command tree. Commands are thin: they parse options and call the library.</summary>
public static class CliApp
{
    /// <summary>The name users type (the tool command); help and usage lines say it.</summary>
    public const string Name = "pixelbox";

    /// <summary>The full command tree.</summary>
    public static Command Build() => Build(null);

    /// <summary>
    /// The tree with only the leaf command that <paramref name="args"/> start with (e.g. "eval coco"), or
    /// the full tree when they name none (root help, a group, a typo). Creating every command's options
    /// is JIT work that a one-second command would otherwise pay for commands it does not run.
    /// </summary>
    public static Command BuildFor(string[] args) => Build(args);

    /// <summary>A leaf command: its group ("" for one on the root), name and factory, in help order.</summary>
    sealed record Leaf(string Group, string Name, Func<Command> Create)
    {
        public bool IsNamedBy(string[] args) => Group == ""
            ? args.Length >= 1 && args[0] == Name
            : args.Length >= 2 && args[0] == Group && args[1] == Name;
    }

    static readonly Leaf[] Leaves =
    [
        new("", "demo", Commands.DemoCommand.Create),
        new("eval", "seg", Commands.EvalSegCommand.Create),
        new("eval", "coco", Commands.EvalCocoCommand.Create),
        new("data", "shapes", Commands.DataShapesCommand.Create),
        new("data", "convert", Commands.DataConvertCommand.Create),
        new("data", "check", Commands.DataCheckCommand.Create),
        new("train", "seg", Commands.TrainSegCommand.Create),
        new("train", "det", Commands.TrainDetCommand.Create),
        new("predict", "seg", Commands.PredictSegCommand.Create),
        new("predict", "det", Commands.PredictDetCommand.Create),
        new("export", "onnx", Commands.ExportOnnxCommand.Create),
        new("", "quantize", Commands.QuantizeCommand.Create),
        new("", "import", Commands.ImportCommand.Create),
        new("", "models", Commands.ModelsCommand.Create),
        new("", "nms", Commands.NmsCommand.Create),
    ];

    /// <summary>Shown at the end of the root help.</summary>
    const string ExitCodes = "Exit codes: 0 success, 1 internal error (a defect of PixelBox; a log file with the trace is named), " +
                             "2 bad input or usage (one line: error: FILE: problem), 130 interrupted (Ctrl+C).";

    static Command Build(string[]? args)
    {
        bool pruned = false;
        foreach (var leaf in Leaves)
            pruned |= args is not null && leaf.IsNamedBy(args);
        // A plain command as root (not RootCommand) so that usage lines say "pixelbox", not the assembly name.
        var root = new Command(Name, "PixelBox: semantic segmentation and object detection for .NET.\n" + ExitCodes)
        {
            new HelpOption(),
            new VersionOption(),
            ErrorReporting.VerboseOption,
        };
        var groups = new Dictionary<string, Command>
        {
            ["eval"] = new("eval", "Evaluate predictions against ground truth."),
            ["data"] = new("data", "Generate, convert or check datasets."),
            ["train"] = new("train", "Train a model."),
            ["predict"] = new("predict", "Run a trained model on images."),
            ["export"] = new("export", "Export a trained model for other runtimes."),
        };
        foreach (var leaf in Leaves)
        {
            if (pruned && !leaf.IsNamedBy(args!))
                continue;
            if (leaf.Group == "")
                root.Subcommands.Add(leaf.Create());
            else
            {
                var group = groups[leaf.Group];
                if (group.Subcommands.Count == 0)
                    root.Subcommands.Add(group);
                group.Subcommands.Add(leaf.Create());
            }
        }
        return root;
    }

    /// <summary>
    /// Runs the CLI. Exit codes: 0 success; 2 a user's mistake (bad option value, missing or malformed
    /// file, unwritable output), printed as one line <c>error: FILE: problem</c>, or an unknown command or
    /// option (System.CommandLine's message and help); 130 interrupted; 1 a defect of ours, printed as one
    /// line <c>internal error: ...</c> with the full trace in a log file (and on stderr with --verbose).
    /// </summary>
    public static int Run(string[] args)
    {
        bool verbose = args.Contains(ErrorReporting.VerboseOption.Name);
        // Spectre's console binds to Console.Out once, at first use; a host that redirects the console
        // between runs (tests, an embedding program) would otherwise write to a stale, maybe closed, writer.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        try
        {
            var parse = BuildFor(args).Parse(args);
            if (parse.Errors.Count > 0)
                return ErrorReporting.ReportParseErrors(parse);
            using var cancellation = new CancellationTokenSource();
            using var interruption = Interruption.Handle(parse, cancellation);
            // No ProcessTerminationTimeout: System.CommandLine would return 130 two seconds after Ctrl+C while the
            // command still runs (and the process exit would cut it short); Interruption handles the signals.
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return parse.InvokeAsync(configuration, cancellation.Token).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            return ErrorReporting.Report(e, args, verbose);
        }
    }
}
