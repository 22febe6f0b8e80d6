using System.CommandLine;
using System.Text.Json;
using PixelBox.Cli.Shared;
using PixelBox.Models;
using Spectre.Console;
using static TorchSharp.torch;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox models`: every registered model with its parameter count, input-size rule and paper.</summary>
public static class ModelsCommand
{
    /// <summary>One listed model; <c>--json</c> writes name, task, params, num_classes, in_channels and output_stride.</summary>
    sealed record Row(string Name, string Task, long Params, int NumClasses, int InChannels, int? OutputStride, string InputSizeRule, string Paper);

    public static Command Create()
    {
        var numClasses = new Option<int?>("--num-classes") { Description = "Classes to count parameters for (default: each model's paper setting)", HelpName = "K" };
        var inChannels = new Option<int?>("--in-channels") { Description = "Input channels (default: each model's paper setting)", HelpName = "C" };
        var json = new Option<bool>("--json") { Description = "Write the list as JSON to stdout" };
        numClasses.InRange(1, ModelLimits.MaxClasses);
        inChannels.InRange(1, ModelLimits.MaxInChannels);

        var command = new Command("models", "List the available models with parameter counts, input sizes and source papers.")
        {
            numClasses, inChannels, json,
        };
        command.SetAction(parse =>
        {
            var rows = Rows(parse.GetValue(numClasses), parse.GetValue(inChannels));
            var output = parse.InvocationConfiguration.Output;
            if (parse.GetValue(json))
                WriteJson(output, rows);
            else
                WriteTable(output, rows);
            return 0;
        });
        return command;
    }

    /// <summary>Counts parameters on the meta device, so even the FCNs cost no memory or time.</summary>
    static List<Row> Rows(int? numClasses = null, int? inChannels = null) =>
    [
        .. ModelRegistry.All.Select(entry =>
        {
            var (classes, channels) = (numClasses ?? entry.DefaultNumClasses, inChannels ?? entry.DefaultInChannels);
            using var model = entry.Create(classes, channels, META);
            var count = model.parameters().Sum(p => p.numel());
            return new Row(entry.Name, entry.Task, count, classes, channels, entry.OutputStride, entry.InputSizeRule, entry.Paper);
        }),
    ];

    static void WriteJson(TextWriter output, List<Row> rows)
    {
        var list = rows.Select(r => new
        {
            name = r.Name, task = r.Task, @params = r.Params, num_classes = r.NumClasses, in_channels = r.InChannels, output_stride = r.OutputStride,
        });
        output.WriteLine(JsonSerializer.Serialize(list, new JsonSerializerOptions { WriteIndented = true }));
    }

    static void WriteTable(TextWriter output, List<Row> rows)
    {
        var table = new Table().AddColumns("Model", "Task", "Parameters", "Classes", "In ch.", "Stride", "Input size", "Paper");
        for (var i = 0; i < 6; i++)
            table.Columns[i].NoWrap();
        table.Columns[2].RightAligned();
        foreach (var r in rows)
            table.AddRow(
                Markup.Escape(r.Name), r.Task, r.Params.ToString("N0"), r.NumClasses.ToString(), r.InChannels.ToString(),
                r.OutputStride?.ToString() ?? "-", Markup.Escape(r.InputSizeRule), Markup.Escape(r.Paper));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        if (Console.IsOutputRedirected || output != Console.Out)
            console.Profile.Width = 240; // no terminal to ask: lay the table out on one line per model
        console.Write(table);
    }
}
