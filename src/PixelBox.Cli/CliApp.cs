using System.CommandLine;

namespace PixelBox.Cli;

/// <summary>The `pixelbox` command tree. Commands are thin: they parse options and call the library.</summary>
public static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("PixelBox: semantic segmentation and object detection for .NET");
        var eval = new Command("eval", "Evaluate predictions against ground truth.");
        var data = new Command("data", "Generate or convert datasets.");
        var train = new Command("train", "Train a model.");
        var predict = new Command("predict", "Run a trained model on images.");
        data.Subcommands.Add(Commands.DataShapesCommand.Create());
        eval.Subcommands.Add(Commands.EvalSegCommand.Create());
        eval.Subcommands.Add(Commands.EvalCocoCommand.Create());
        train.Subcommands.Add(Commands.TrainSegCommand.Create());
        predict.Subcommands.Add(Commands.PredictSegCommand.Create());
        root.Subcommands.Add(Commands.DemoCommand.Create());
        foreach (var group in new[] { eval, data, train, predict })
            root.Subcommands.Add(group);
        root.Subcommands.Add(Commands.ModelsCommand.Create());
        return root;
    }

    /// <summary>Runs the CLI; user errors become one line on stderr and exit code 2.</summary>
    public static int Run(string[] args)
    {
        var parse = Build().Parse(args);
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
