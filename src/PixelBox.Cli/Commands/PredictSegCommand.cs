using System.CommandLine;
using PixelBox.Imaging;
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
        var output = new Option<string>("--out") { Description = "Folder for <name>.png (index mask, VOC palette) and <name>_overlay.png (image | blend); not the input folder", Required = true, HelpName = "DIR" };
        var precision = TorchSetup.PrecisionOption("a checkpoint's inference (an ONNX model runs as exported)");
        var threads = TorchSetup.ThreadsOption();
        var saveLogits = new Option<bool>("--save-logits")
        {
            Description = "Also write <name>_logits.npy: the logits before the arg-max at the image's size (float32, classes x H x W, numpy's .npy)",
        };
        var command = new Command("seg", "Predict segmentation masks; writes <name>.png (index mask) and <name>_overlay.png (image | mask blended over it).")
        {
            model, input, output, precision, threads, saveLogits,
        };
        command.SetAction((parse, cancellation) =>
        {
            var inputPath = parse.GetValue(input)!;
            var outPath = parse.GetValue(output)!;
            var modelPath = parse.GetValue(model)!;
            var images = SegmentationPredictor.FindImages(inputPath);
            bool logits = parse.GetValue(saveLogits);
            CheckOutputs(modelPath, inputPath, images, outPath, logits);
            bool onnx = OnnxFiles.IsOnnx(modelPath);
            if (onnx && TorchSetup.IsGiven(parse, precision))
                throw new InputException("--precision", "applies to checkpoints; an ONNX model runs in the precision it was exported or quantized in");
            foreach (var image in images)
                RgbImageFile.ReadSize(image); // an unreadable image fails now, before the output folder exists
            using var predictor = onnx
                ? LoadOnnx(modelPath, parse.GetValue(threads) ?? Environment.ProcessorCount)
                : LoadCheckpoint(modelPath, parse, threads, parse.GetValue(precision));
            var how = onnx ? "ONNX Runtime" : new InferenceOptions(parse.GetValue(precision)).Describe(predictor.Info.Name);
            var outDir = OutputPaths.CreateFolder(outPath);
            int done = 0;
            LiveProgress.Run(context =>
            {
                var bar = context?.AddTask("predicting", maxValue: images.Count);
                foreach (var image in images)
                {
                    if (cancellation.IsCancellationRequested)
                        break;
                    predictor.PredictFile(image, outDir, logits);
                    done++;
                    bar?.Increment(1);
                }
            });
            if (done < images.Count)
            {
                AnsiConsole.MarkupLine($"[yellow]Interrupted[/] after {done} of {images.Count} images (their masks and overlays are complete).");
                return Task.FromResult(ErrorReporting.Interrupted);
            }
            var what = logits ? "masks, overlays and logits" : "masks and overlays";
            TrainingDisplay.Say($"Wrote {images.Count} {what} ({predictor.Info.Name}, " +
                                   $"{predictor.Info.NumClasses} classes, {how}) to {outDir}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>
    /// Before any work: the output folder is not the input folder, and no mask or overlay lands on an input
    /// (the checkpoint or an image) or on another output (b_overlay.png is b.png's overlay and also the mask
    /// of an input called b_overlay.png).
    /// </summary>
    static void CheckOutputs(string checkpoint, string input, IReadOnlyList<string> images, string outDir, bool logits)
    {
        if (Directory.Exists(input) && OutputPlan.IsWithin(outDir, input) && OutputPlan.IsWithin(input, outDir))
            throw new InputException(outDir, $"--out is the input folder {input}; masks and overlays would mix with (and overwrite) the images; choose another folder");
        var plan = new OutputPlan().Input(checkpoint, "the checkpoint (--model)");
        foreach (var image in images)
            plan.Input(image, "the input image");
        foreach (var image in images)
        {
            var (mask, overlay) = SegmentationPredictor.OutputNames(image);
            plan.Output(Path.Combine(outDir, mask), $"the mask of {image}");
            plan.Output(Path.Combine(outDir, overlay), $"the overlay of {image}");
            if (logits)
                plan.Output(Path.Combine(outDir, SegmentationPredictor.LogitsName(image)), $"the logits of {image}");
        }
        plan.Check();
    }

    // Separate methods, so that the ONNX path never JIT-compiles (or runs) anything that loads libtorch.
    static ISegmentationPredictor LoadOnnx(string path, int threads) => OnnxSegmentationPredictor.Load(path, threads);

    static ISegmentationPredictor LoadCheckpoint(string path, ParseResult parse, Option<int?> threads, Precision precision)
    {
        TorchSetup.Configure(parse, threads);
        return SegmentationPredictor.Load(path, new InferenceOptions(precision));
    }
}
