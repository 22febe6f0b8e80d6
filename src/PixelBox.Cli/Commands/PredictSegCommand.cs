using System.CommandLine;
using System.Globalization;
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
        var window = new WindowOptions();
        var command = new Command("seg", "Predict segmentation masks; writes <name>.png (index mask) and <name>_overlay.png (image | mask blended over it).")
        {
            model, input, output, precision, threads, saveLogits,
            window.Tile, window.Overlap, window.Stride, window.Blend, window.TileMargin, window.Tta, window.Scales, window.SaveProbs,
        };
        command.SetAction((parse, cancellation) =>
        {
            var inputPath = parse.GetValue(input)!;
            var outPath = parse.GetValue(output)!;
            var modelPath = parse.GetValue(model)!;
            var images = SegmentationPredictor.FindImages(inputPath);
            bool logits = parse.GetValue(saveLogits);
            bool probs = parse.GetValue(window.SaveProbs);
            var augmentation = window.Augmentation(parse);
            CheckOutputs(modelPath, inputPath, images, outPath, logits, probClasses: 0);
            bool onnx = OnnxFiles.IsOnnx(modelPath);
            if (onnx && TorchSetup.IsGiven(parse, precision))
                throw new InputException("--precision", "applies to checkpoints; an ONNX model runs in the precision it was exported or quantized in");
            foreach (var image in images)
                RgbImageFile.ReadSize(image); // an unreadable image fails now, before the output folder exists
            using var predictor = onnx
                ? LoadOnnx(modelPath, parse.GetValue(threads) ?? Environment.ProcessorCount)
                : LoadCheckpoint(modelPath, parse, threads, parse.GetValue(precision));
            var how = onnx ? "ONNX Runtime" : new InferenceOptions(parse.GetValue(precision)).Describe(predictor.Info.Name);
            var sliding = window.Predictor(parse, predictor, augmentation);
            if (probs)
                CheckOutputs(modelPath, inputPath, images, outPath, logits, predictor.Info.NumClasses);
            if (sliding is not null)
                how += ", " + WindowOptions.Describe(sliding.Options, augmentation);
            var outDir = OutputPaths.CreateFolder(outPath);
            int done = 0;
            LiveProgress.Run(context =>
            {
                var bar = context?.AddTask("predicting", maxValue: images.Count);
                foreach (var image in images)
                {
                    if (cancellation.IsCancellationRequested)
                        break;
                    if (sliding is null)
                        predictor.PredictFile(image, outDir, logits);
                    else
                        SlidingWindowFiles.PredictFile(sliding, image, outDir, logits, probs);
                    done++;
                    bar?.Increment(1);
                }
            });
            if (done < images.Count)
            {
                AnsiConsole.MarkupLine($"[yellow]Interrupted[/] after {done} of {images.Count} images (their masks and overlays are complete).");
                return Task.FromResult(ErrorReporting.Interrupted);
            }
            var what = "masks and overlays" + (logits ? ", logits" : "") + (probs ? ", probability maps" : "");
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
    static void CheckOutputs(string checkpoint, string input, IReadOnlyList<string> images, string outDir, bool logits, int probClasses)
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
            for (int k = 0; k < probClasses; k++)
                plan.Output(Path.Combine(outDir, SlidingWindowFiles.ProbabilityName(image, k)), $"the class {k} probabilities of {image}");
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

    /// <summary>Sliding-window, test-time augmentation and probability-map options; none given: the whole-image pass as before.</summary>
    sealed class WindowOptions
    {
        const int MaxSide = 16384;
        const double MaxScale = 4;
        static readonly string[] FlipNames = ["hflip", "vflip"];

        public Option<int?> Tile { get; } = new Option<int?>("--tile")
        {
            Description = "Predict by sliding windows of N x N pixels (a side the model takes) whose logits are blended; memory then grows with the image width, not its area. An image no larger than a tile is predicted whole",
            HelpName = "N",
        }.InRange(1, MaxSide);

        public Option<double?> Overlap { get; } = new Option<double?>("--overlap")
        {
            Description = "With --tile: fraction of a tile shared with its neighbour, stride = tile x (1 - F) [default: 0.5]",
            HelpName = "F",
        }.InRange(0.0, 0.9);

        public Option<int?> Stride { get; } = new Option<int?>("--stride")
        {
            Description = "With --tile: largest step between tiles in pixels (instead of --overlap); tiles are spread evenly, the last flush with the far edge",
            HelpName = "N",
        }.InRange(1, MaxSide);

        public Option<WindowBlend?> Blend { get; } = OptionRules.Choice("--blend",
            "With --tile: weights of overlapping tiles' logits, a Gaussian (sigma = tile / 8) or a tent, normalised by their sum", WindowBlend.Gaussian);

        public Option<int?> TileMargin { get; } = new Option<int?>("--tile-margin")
        {
            Description = "With --tile: pixels at each tile edge inside the image given no weight (at most half of tile - stride) [default: 0]",
            HelpName = "N",
        }.InRange(0, MaxSide);

        public Option<string?> Tta { get; } = new("--tta")
        {
            Description = "Test-time flips, averaged on logits: hflip, vflip or hflip,vflip (all four combinations)",
            HelpName = "hflip,vflip",
        };

        public Option<string?> Scales { get; } = new("--scales")
        {
            Description = $"Test-time scales (each in (0, {MaxScale}]), e.g. 0.75,1,1.25: each pass's logits are resized back to the image (or tile) and averaged",
            HelpName = "S,S,...",
        };

        public Option<bool> SaveProbs { get; } = new("--save-probs")
        {
            Description = "Also write <name>_prob_<class>.png per class: softmax probability x 255 (8-bit grey)",
        };

        /// <summary>The flips and scales asked for (none: <see cref="TestTimeAugmentation.None"/>).</summary>
        public TestTimeAugmentation Augmentation(ParseResult parse)
        {
            var flips = parse.GetValue(Tta) is { } tta ? Names(tta) : [];
            var scales = parse.GetValue(Scales) is { } text ? ScaleList(text) : [1.0];
            return new TestTimeAugmentation(flips.Contains("hflip"), flips.Contains("vflip"), scales);
        }

        /// <summary>The sliding window asked for, or null for the plain whole-image pass (no option of this group given).</summary>
        public SlidingWindowPredictor? Predictor(ParseResult parse, ISegmentationPredictor predictor, TestTimeAugmentation augmentation)
        {
            int? tile = parse.GetValue(Tile);
            if (tile is null)
            {
                foreach (var option in new Option[] { Overlap, Stride, Blend, TileMargin })
                    if (parse.WasGiven(option))
                        throw new InputException(option.Name, "applies to sliding windows; give --tile too");
            }
            if (tile is null && augmentation.IsNone && !parse.GetValue(SaveProbs))
                return null;
            var run = augmentation.Wrap(predictor.PredictLogits, predictor.Info.InChannels, predictor.Info.NumClasses);
            var options = tile is { } side ? WindowFor(parse, predictor, side) : new SlidingWindowOptions(int.MaxValue, int.MaxValue);
            return new SlidingWindowPredictor(run, predictor.Info.NumClasses, predictor.Info.Normalization, options);
        }

        SlidingWindowOptions WindowFor(ParseResult parse, ISegmentationPredictor predictor, int tile)
        {
            int accepted;
            try { accepted = predictor.AcceptedSide(tile); }
            catch (InputException e) { throw new InputException("--tile", e.Message); }
            if (accepted != tile)
                throw new InputException("--tile", $"model '{predictor.Info.Name}' does not take a side of {tile}; the next it takes is {accepted}");
            if (parse.WasGiven(Overlap) && parse.WasGiven(Stride))
                throw new InputException("--stride", "give --overlap or --stride, not both");
            int stride = parse.GetValue(Stride) ?? SlidingWindowOptions.StrideFor(tile, parse.GetValue(Overlap) ?? 0.5);
            if (stride > tile)
                throw new InputException("--stride", $"{stride} is larger than the tile ({tile}); tiles would leave gaps");
            int margin = parse.GetValue(TileMargin) ?? 0;
            if (2 * margin > tile - stride)
                throw new InputException("--tile-margin", $"{margin} leaves pixels without weight: at most (tile - stride) / 2 = {(tile - stride) / 2}");
            return new SlidingWindowOptions(tile, stride, parse.ValueOr(Blend, WindowBlend.Gaussian), margin);
        }

        /// <summary>"tiles 512, stride 256, gaussian; TTA 4 passes" and the like, for the summary line.</summary>
        public static string Describe(SlidingWindowOptions window, TestTimeAugmentation augmentation)
        {
            var tiles = window.TileSize == int.MaxValue ? "whole image"
                : $"tiles {window.TileSize}, stride {window.Stride}, {window.Blend.ToString().ToLowerInvariant()}";
            return augmentation.IsNone ? tiles : $"{tiles}; TTA {augmentation.Passes} passes";
        }

        static HashSet<string> Names(string text)
        {
            var names = new HashSet<string>();
            foreach (var name in text.Split(','))
            {
                if (!FlipNames.Contains(name))
                    throw new InputException("--tta", $"'{name}' is not one of {string.Join(", ", FlipNames)}");
                if (!names.Add(name))
                    throw new InputException("--tta", $"'{name}' is given twice");
            }
            return names;
        }

        static double[] ScaleList(string text)
        {
            var parts = text.Split(',');
            var scales = new double[parts.Length];
            for (int i = 0; i < parts.Length; i++)
            {
                if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out scales[i]) || !(scales[i] > 0 && scales[i] <= MaxScale))
                    throw new InputException("--scales", $"'{parts[i]}' is not a number greater than 0 and at most {MaxScale}");
                if (Array.IndexOf(scales, scales[i], 0, i) >= 0)
                    throw new InputException("--scales", $"{parts[i]} is given twice");
            }
            return scales;
        }
    }
}
