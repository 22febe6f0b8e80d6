using System.CommandLine;
using PixelBox.Inference;
using PixelBox.Cli.Shared;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox predict seg`: index masks and overlays for one image or a folder of images.</summary>
public static class PredictSegCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint written by `train seg` (e.g. RUN/best.ckpt)", Required = true, HelpName = "CKPT" };
        var input = new Option<string>("--input") { Description = "An image, or a folder whose images are all predicted", Required = true, HelpName = "IMG|DIR" };
        var output = new Option<string>("--out") { Description = "Folder for <name>.png (index mask, VOC palette) and <name>_overlay.png (image | blend)", Required = true, HelpName = "DIR" };
        var threads = TorchSetup.ThreadsOption();
        var command = new Command("seg", "Predict segmentation masks; writes <name>.png (index mask) and <name>_overlay.png (image | mask blended over it).")
        {
            model, input, output, threads,
        };
        command.SetAction(parse =>
        {
            TorchSetup.Configure(parse.GetValue(threads));
            var images = SegmentationPredictor.FindImages(parse.GetValue(input)!);
            using var predictor = SegmentationPredictor.Load(parse.GetValue(model)!);
            var outDir = OutputPaths.CreateFolder(parse.GetValue(output)!);
            LiveProgress.Run(context =>
            {
                var bar = context?.AddTask("predicting", maxValue: images.Count);
                foreach (var image in images)
                {
                    predictor.PredictFile(image, outDir);
                    bar?.Increment(1);
                }
            });
            AnsiConsole.MarkupLine($"Wrote {images.Count} masks and overlays ({Markup.Escape(predictor.Info.Name)}, " +
                                   $"{predictor.Info.NumClasses} classes) to [bold]{Markup.Escape(outDir)}[/]");
            return 0;
        });
        return command;
    }
}
