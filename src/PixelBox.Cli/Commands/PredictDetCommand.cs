using System.CommandLine;
using PixelBox.Cli.Shared;
using PixelBox.Inference;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox predict det`: COCO results and drawn boxes for one image or a folder of images.</summary>
public static class PredictDetCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model")
        {
            Description = "Checkpoint written by `train det` (e.g. RUN/best.ckpt), or an ONNX model from `export onnx` (*.onnx, run by ONNX Runtime without libtorch)",
            Required = true,
            HelpName = "CKPT|MODEL.onnx",
        };
        var input = new Option<string>("--input") { Description = "An image, or a folder whose images are all predicted", Required = true, HelpName = "IMG|DIR" };
        var output = new Option<string>("--out") { Description = "Folder for predictions.json and <name>_boxes.png", Required = true, HelpName = "DIR" };
        var gt = new Option<string?>("--gt") { Description = "COCO ground truth whose image ids (matched by file name) the results use; default 1..N in file-name order", HelpName = "instances.json" };
        var scoreThreshold = new Option<double?>("--score-threshold") { Description = "Keep detections scoring above this (default: the checkpoint's, 0.001 for yolo)", HelpName = "T" };
        var nmsIou = new Option<double?>("--nms-iou") { Description = "IoU above which NMS suppresses a box of the same class (default: the checkpoint's)", HelpName = "T" };
        var maxDets = new Option<int?>("--max-dets") { Description = "Detections kept per image (default: the checkpoint's)", HelpName = "N" };
        var drawThreshold = new Option<double>("--draw-threshold") { Description = "Lowest score drawn in the pictures (predictions.json keeps all)", DefaultValueFactory = _ => 0.25, HelpName = "T" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8, HelpName = "N" };
        var precision = TorchSetup.PrecisionOption("a checkpoint's inference (an ONNX model runs as exported)");
        var threads = TorchSetup.ThreadsOption();
        scoreThreshold.InRange(0.0, 1.0);
        nmsIou.InRange(1e-9, 1.0);
        maxDets.InRange(1, 1_000_000);
        drawThreshold.InRange(0.0, 1.0);
        batchSize.InRange(1, 1024);
        var command = new Command("det", "Detect objects; writes predictions.json (COCO results) and <name>_boxes.png (boxes, labels and scores drawn).")
        {
            model, input, output, gt, scoreThreshold, nmsIou, maxDets, drawThreshold, batchSize, precision, threads,
        };
        command.SetAction(parse =>
        {
            var images = SegmentationPredictor.FindImages(parse.GetValue(input)!);
            var outArgument = parse.GetValue(output)!;
            var checkpointPath = parse.GetValue(model)!;
            var gtPath = parse.GetValue(gt);
            DetectionPredictionFiles.CheckOutputs(images, outArgument, gtPath is null ? [checkpointPath] : [checkpointPath, gtPath]);
            var imageIds = DetectionPredictionFiles.ImageIds(images, gtPath);
            bool onnx = OnnxFiles.IsOnnx(checkpointPath);
            if (onnx && TorchSetup.IsGiven(parse, precision))
                throw new InputException("--precision", "applies to checkpoints; an ONNX model runs in the precision it was exported in");
            using var predictor = onnx
                ? LoadOnnx(checkpointPath, parse.GetValue(threads) ?? Environment.ProcessorCount)
                : LoadCheckpoint(checkpointPath, parse, threads, parse.GetValue(precision));
            var how = onnx ? "ONNX Runtime" : Describe(predictor);
            var settings = predictor.Settings;
            predictor.Settings = settings with
            {
                ScoreThreshold = parse.GetValue(scoreThreshold) ?? settings.ScoreThreshold,
                NmsIou = parse.GetValue(nmsIou) ?? settings.NmsIou,
                MaxDetections = parse.GetValue(maxDets) ?? settings.MaxDetections,
            };
            var outDir = OutputPaths.CreateFolder(outArgument);
            DetectionPredictionOutput? written = null;
            LiveProgress.Run(context =>
            {
                var bar = context?.AddTask("predicting", maxValue: images.Count);
                written = DetectionPredictionFiles.Write(predictor, images, imageIds, outDir, parse.GetValue(drawThreshold),
                    parse.GetValue(batchSize), done => bar?.Value = done);
            });
            AnsiConsole.MarkupLine($"{written!.Detections} detections in {images.Count} images ({Markup.Escape(predictor.Info.Name)}, " +
                                   $"{predictor.Info.NumClasses} classes, {Markup.Escape(how)}): [bold]{Markup.Escape(written.PredictionsPath)}[/] and {images.Count} pictures in {Markup.Escape(outDir)}");
            return 0;
        });
        return command;
    }

    // Separate methods, so that the ONNX path never JIT-compiles (or runs) anything that loads libtorch.
    static IDetectionPredictor LoadOnnx(string path, int threads) => OnnxDetectionPredictor.Load(path, threads);

    static IDetectionPredictor LoadCheckpoint(string path, ParseResult parse, Option<int?> threads, Precision precision)
    {
        TorchSetup.Configure(parse, threads);
        return DetectionPredictor.Load(path, new InferenceOptions(precision));
    }

    static string Describe(IDetectionPredictor predictor) =>
        predictor is DetectionPredictor torch
            ? $"{InferencePrecision.Name(torch.Precision)}{(torch.ChannelsLast ? ", channels-last" : "")}"
            : "";
}
