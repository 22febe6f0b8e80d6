using System.CommandLine;
using PixelBox.Cli.Shared;
using PixelBox.Onnx;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox export onnx`: a checkpoint's model as an ONNX file with its preprocessing in the metadata.</summary>
public static class ExportOnnxCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint written by `train seg` / `train det` (e.g. RUN/best.ckpt)", Required = true, HelpName = "CKPT" };
        var output = new Option<string>("--out") { Description = "ONNX file to write", Required = true, HelpName = "MODEL.onnx" };
        var opset = new Option<int>("--opset")
        {
            Description = $"ONNX opset ({OnnxExport.MinOpset}..{OnnxExport.MaxOpset})",
            DefaultValueFactory = _ => OnnxExport.DefaultOpset,
            HelpName = "N",
        }.InRange(OnnxExport.MinOpset, OnnxExport.MaxOpset);
        var dynamicSize = new Option<bool>("--dynamic-size") { Description = "Input height and width decided at run time (any size the model takes) instead of fixed" };
        var inputSize = new Option<string>("--input-size")
        {
            Description = "Fixed input size of the graph, S or HxW (default: detection models' input size; segmentation: the training crop or images, else " +
                          $"{CheckpointExport.DefaultSegmentationSide}, rounded up to a size the model takes)",
            HelpName = "S|HxW",
        };
        var command = new Command("onnx", "Export a checkpoint's model to ONNX (detectors up to their raw outputs; decoding and NMS stay in PixelBox), " +
                                          "with normalisation, resize mode, input size, class names and detection settings in the model's metadata.")
        {
            model, output, opset, dynamicSize, inputSize,
        };
        command.SetAction(parse =>
        {
            var (height, width) = ParseSize(parse.GetValue(inputSize));
            if (parse.GetValue(dynamicSize) && height is not null)
                throw new InputException("--input-size", "fixes the size; it cannot be combined with --dynamic-size");
            var summary = CheckpointExport.Export(parse.GetValue(model)!, parse.GetValue(output)!, parse.GetValue(opset),
                parse.GetValue(dynamicSize), height, width);
            var size = summary.DynamicSize ? "dynamic size" : $"{summary.Height}x{summary.Width}";
            AnsiConsole.MarkupLine($"Wrote [bold]{Markup.Escape(summary.Path)}[/]: {Markup.Escape(summary.Model)} ({summary.Task}), input images [[N, C, {size}]], " +
                                   $"outputs {Markup.Escape(string.Join(", ", summary.Outputs))}; opset {summary.Opset}, {summary.Nodes} nodes, " +
                                   $"{summary.Initializers} initializers, {summary.Bytes / 1e6:F1} MB");
            return 0;
        });
        return command;
    }

    static (int? Height, int? Width) ParseSize(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return (null, null);
        var parts = text.ToLowerInvariant().Split('x');
        if (parts.Length is < 1 or > 2 || parts.Any(p => !int.TryParse(p, out var v) || v < 1 || v > 16384))
            throw new InputException("--input-size", $"'{text}' is not S or HxW with sides in [1, 16384]");
        int h = int.Parse(parts[0]);
        return (h, parts.Length == 2 ? int.Parse(parts[1]) : h);
    }
}
