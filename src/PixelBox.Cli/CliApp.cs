using System.CommandLine;

namespace PixelBox.Cli;

/// <summary>The `pixelbox` command tree. Commands are thin: they parse options and call the library.</summary>
public static class CliApp
{
    /// <summary>The full command tree.</summary>
    public static RootCommand Build() => Build(null);

    /// <summary>
    /// The tree with only the leaf command that <paramref name="args"/> start with (e.g. "eval coco"), or
    /// the full tree when they name none (root help, a group, a typo). Creating every command's options
    /// is JIT work that a one-second command would otherwise pay for commands it does not run.
    /// </summary>
    public static RootCommand BuildFor(string[] args) => Build(args);

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
        new("train", "seg", Commands.TrainSegCommand.Create),
        new("predict", "seg", Commands.PredictSegCommand.Create),
        new("", "models", Commands.ModelsCommand.Create),
        new("", "nms", Commands.NmsCommand.Create),
    ];

    static RootCommand Build(string[]? args)
    {
        bool pruned = false;
        foreach (var leaf in Leaves)
            pruned |= args is not null && leaf.IsNamedBy(args);
        var root = new RootCommand("PixelBox: semantic segmentation and object detection for .NET");
        var groups = new Dictionary<string, Command>
        {
            ["eval"] = new("eval", "Evaluate predictions against ground truth."),
            ["data"] = new("data", "Generate or convert datasets."),
            ["train"] = new("train", "Train a model."),
            ["predict"] = new("predict", "Run a trained model on images."),
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

    /// <summary>Runs the CLI; user errors become one line on stderr and exit code 2.</summary>
    public static int Run(string[] args)
    {
        var parse = BuildFor(args).Parse(args);
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (InputException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
