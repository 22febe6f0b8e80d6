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
        var model = new Option<string>("--model")
        {
            Description = "Checkpoint written by `train seg` (e.g. RUN/best.ckpt), or an ONNX model from `export onnx` / `quantize` (*.onnx, run by ONNX Runtime without libtorch)",
            Required = true,
            HelpName = "CKPT|MODEL.onnx",
        };
        var input = new Option<string>("--input") { Description = "An image, or a folder whose images are all predicted", Required = true, HelpName = "IMG|DIR" };
        var output = new Option<string>("--out") { Description = "Folder for <name>.png (index mask, VOC palette) and <name>_overlay.png (image | blend)", Required = true, HelpName = "DIR" };
        var precision = TorchSetup.PrecisionOption("a checkpoint's inference (an ONNX model runs as exported)");
        var threads = TorchSetup.ThreadsOption();
        var command = new Command("seg", "Predict segmentation masks; writes <name>.png (index mask) and <name>_overlay.png (image | mask blended over it).")
        {
            model, input, output, precision, threads,
        };
        command.SetAction(parse =>
        {
            var modelPath = parse.GetValue(model)!;
            var images = SegmentationPredictor.FindImages(parse.GetValue(input)!);
            bool onnx = OnnxFiles.IsOnnx(modelPath);
            if (onnx && TorchSetup.IsGiven(parse, precision))
                throw new InputException("--precision", "applies to checkpoints; an ONNX model runs in the precision it was exported or quantized in");
            using var predictor = onnx ? LoadOnnx(modelPath, parse.GetValue(threads)) : LoadCheckpoint(modelPath, parse.GetValue(threads), parse.GetValue(precision));
            var how = onnx ? "ONNX Runtime" : new InferenceOptions(parse.GetValue(precision)).Describe(predictor.Info.Name);
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
                                   $"{predictor.Info.NumClasses} classes, {Markup.Escape(how)}) to [bold]{Markup.Escape(outDir)}[/]");
            return 0;
        });
        return command;
    }

    // Separate methods, so that the ONNX path never JIT-compiles (or runs) anything that loads libtorch.
    static ISegmentationPredictor LoadOnnx(string path, int threads)
    {
        if (threads < 1) throw new InputException("--threads", $"must be at least 1 (got {threads})");
        return OnnxSegmentationPredictor.Load(path, threads);
    }

    static ISegmentationPredictor LoadCheckpoint(string path, int threads, Precision precision)
    {
        TorchSetup.Configure(threads);
        return SegmentationPredictor.Load(path, new InferenceOptions(precision));
    }
}
