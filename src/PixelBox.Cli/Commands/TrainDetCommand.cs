using System.CommandLine;
using System.Globalization;
using PixelBox.Cli.Shared;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Training;
using Spectre.Console;
using TorchSharp;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox train det`: trains a detector on a COCO, VOC, YOLO-txt or Shapes dataset.</summary>
public static class TrainDetCommand
{
    public static Command Create()
    {
        var detectors = string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Detection));
        var data = new Option<string>("--data") { Description = "Dataset root", HelpName = "DIR" };
        var format = new Option<string>("--format") { Description = $"Dataset format: {string.Join(", ", DetectionFormats.All.Select(f => f.Name))}", HelpName = "FORMAT" };
        var model = new Option<string>("--model") { Description = $"Detector: {detectors}", DefaultValueFactory = _ => "yolo", HelpName = "NAME" };
        var output = new Option<string>("--out") { Description = "Run folder for checkpoints, metrics.jsonl and curves.png", Required = true, HelpName = "RUN" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last.ckpt with its stored options (--data may point to the moved dataset)" };
        var trainSplit = new Option<string>("--train-split") { Description = "Split to train on", DefaultValueFactory = _ => "train", HelpName = "NAME" };
        var valSplit = new Option<string>("--val-split") { Description = "Split to validate on after every epoch (COCO AP)", DefaultValueFactory = _ => "val", HelpName = "NAME" };
        var imageSize = new Option<int>("--image-size") { Description = "Side of the square network input (letterboxed images)", DefaultValueFactory = _ => 640, HelpName = "S" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => 50, HelpName = "N" };
        var iterations = new Option<long>("--iterations") { Description = "Run length in optimizer steps instead of epochs", HelpName = "N" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 16, HelpName = "N" };
        var optimizer = OptionRules.Choice("--optimizer", "sgd (momentum) or adamw", OptimizerKind.AdamW);
        var lr = new Option<double>("--lr") { Description = "Base learning rate", DefaultValueFactory = _ => 2e-3, HelpName = "RATE" };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.937, HelpName = "M" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay (not applied to biases and norm layers)", DefaultValueFactory = _ => 5e-4, HelpName = "WD" };
        var schedule = OptionRules.Choice("--schedule", "Learning-rate decay over the run", ScheduleKind.Cosine);
        var minLr = new Option<double?>("--min-lr") { Description = "Rate the decay ends at (default: 1% of --lr)", HelpName = "RATE" };
        var warmup = new Option<int>("--warmup") { Description = "Linear warmup steps", DefaultValueFactory = _ => 100, HelpName = "N" };
        var noAugment = new Option<bool>("--no-augment") { Description = "Train on letterboxed images only (no mosaic, scale, flip or colour jitter)" };
        var mosaic = new Option<double>("--mosaic") { Description = "Probability of a four-image mosaic", DefaultValueFactory = _ => 1.0, HelpName = "P" };
        var closeMosaic = new Option<int>("--close-mosaic") { Description = "Last epochs trained without mosaic", DefaultValueFactory = _ => 10, HelpName = "N" };
        var minScale = new Option<double>("--min-scale") { Description = "Smallest random scale", DefaultValueFactory = _ => 0.5, HelpName = "S" };
        var maxScale = new Option<double>("--max-scale") { Description = "Largest random scale", DefaultValueFactory = _ => 1.5, HelpName = "S" };
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flips" };
        var hsv = new Option<string>("--hsv") { Description = "Colour jitter gains: hue, saturation, value", DefaultValueFactory = _ => "0.015,0.7,0.4", HelpName = "H,S,V" };
        var workers = new Option<int>("--workers") { Description = "Data loading threads", DefaultValueFactory = _ => 2, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, data order and augmentation", HelpName = "K" };
        var precision = TorchSetup.PrecisionOption("the validation each epoch (training is fp32)");
        var threads = TorchSetup.ThreadsOption();
        imageSize.InRange(32, 8192);
        epochs.InRange(1, 100_000);
        iterations.InRange(0, long.MaxValue);
        batchSize.InRange(1, 4096);
        lr.InRange(1e-12, 10);
        momentum.InRange(0, 0.999999);
        weightDecay.InRange(0, 1);
        warmup.InRange(0, int.MaxValue);
        mosaic.InRange(0, 1);
        closeMosaic.InRange(0, 100_000);
        minScale.InRange(1e-3, 100);
        maxScale.InRange(1e-3, 100);
        workers.InRange(1, 256);

        var command = new Command("det", "Train a detector; writes RUN/best.ckpt (best COCO AP), RUN/last.ckpt, RUN/metrics.jsonl (loss parts, AP, AP50, AP75, AP per class) and RUN/curves.png.")
        {
            data, format, model, output, resume, trainSplit, valSplit, imageSize, epochs, iterations, batchSize, optimizer, lr, momentum,
            weightDecay, schedule, minLr, warmup, noAugment, mosaic, closeMosaic, minScale, maxScale, noFlip, hsv, workers, seed, precision, threads,
        };
        command.SetAction((parse, cancellation) =>
        {
            TorchSetup.Configure(parse, threads);
            var outDir = parse.GetValue(output)!;
            DetectionTraining run;
            if (parse.GetValue(resume))
            {
                run = DetectionTraining.Resume(outDir, parse.GetValue(data), TorchSetup.IsGiven(parse, precision) ? parse.GetValue(precision) : null);
                AnsiConsole.MarkupLine($"Resuming [bold]{Markup.Escape(Path.GetFullPath(outDir))}[/] after epoch {run.Trainer.State.Epoch} (stored options are used)");
            }
            else
            {
                var dataDir = parse.GetValue(data) ?? throw new InputException("--data", "required (the dataset to train on)");
                var formatName = parse.GetValue(format) ?? throw new InputException("--format", $"required (one of {string.Join(", ", DetectionFormats.All.Select(f => f.Name))})");
                DetectionFormats.Get(formatName);
                var modelName = parse.GetValue(model)!;
                var entry = ModelRegistry.Get(modelName);
                if (entry.Task != ModelTasks.Detection)
                    throw new InputException("--model", $"'{modelName}' is a {entry.Task} model; detectors: {detectors}");
                if (File.Exists(Path.Combine(outDir, Trainer.LastCheckpointName)))
                    throw new InputException(outDir, "already holds a training run (last.ckpt); pass --resume to continue it or choose another --out");
                var (hue, saturation, value) = ParseHsv(parse.GetValue(hsv)!);
                var task = new DetectionTaskOptions
                {
                    DataRoot = dataDir,
                    Format = formatName,
                    ModelName = modelName,
                    TrainSplit = parse.GetValue(trainSplit)!,
                    ValSplit = parse.GetValue(valSplit)!,
                    ImageSize = parse.GetValue(imageSize),
                    BatchSize = parse.GetValue(batchSize),
                    Workers = parse.GetValue(workers),
                    ValidationPrecision = parse.GetValue(precision),
                    Augmentation = new DetectionAugmentationOptions
                    {
                        Enabled = !parse.GetValue(noAugment),
                        Mosaic = parse.GetValue(mosaic),
                        CloseMosaicEpochs = parse.GetValue(closeMosaic),
                        MinScale = parse.GetValue(minScale),
                        MaxScale = parse.GetValue(maxScale),
                        FlipProbability = parse.GetValue(noFlip) ? 0 : 0.5,
                        Hue = hue,
                        Saturation = saturation,
                        Value = value,
                    },
                };
                double rate = parse.GetValue(lr);
                var training = new TrainingOptions
                {
                    Optimizer = parse.ValueOr(optimizer, OptimizerKind.AdamW),
                    LearningRate = rate,
                    Momentum = parse.GetValue(momentum),
                    WeightDecay = parse.GetValue(weightDecay),
                    Schedule = parse.ValueOr(schedule, ScheduleKind.Cosine),
                    MinLearningRate = parse.GetValue(minLr) ?? rate * 0.01,
                    WarmupIterations = parse.GetValue(warmup),
                    Epochs = parse.GetValue(epochs),
                    Iterations = parse.GetValue(iterations),
                    Seed = parse.GetValue(seed),
                };
                run = DetectionTraining.Start(task, training, outDir);
            }
            using (run)
            {
                if (run.Warnings.Count > 0)
                    AnsiConsole.MarkupLine($"[yellow]{run.Warnings.Count} dataset warnings[/] (e.g. {Markup.Escape(run.Warnings[0].ToString())}); `pixelbox data check` lists them");
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(run.Info.Name)}[/] at {run.Info.Settings.InputSize}x{run.Info.Settings.InputSize}, " +
                                       $"{run.Info.NumClasses} classes ({Markup.Escape(string.Join(", ", run.Info.ClassNames))}), " +
                                       $"{run.Trainer.TotalEpochs} epochs / {run.Trainer.TotalIterations} steps, {torch.get_num_threads()} threads");
                var state = TrainingDisplay.Run(run.Trainer, cancellation, "ap50", "ap75");
                if (state is null)
                    return Task.FromResult(ErrorReporting.Interrupted);
                TrainingDisplay.PrintSummary(run.Trainer, state);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    static (double Hue, double Saturation, double Value) ParseHsv(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var gains = new double[3];
        if (parts.Length != 3)
            throw new InputException("--hsv", $"'{text}' is not three comma-separated gains (hue, saturation, value)");
        for (int i = 0; i < 3; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out gains[i]) || !(gains[i] is >= 0 and <= 1))
                throw new InputException("--hsv", $"'{parts[i]}' is not a gain in [0, 1]");
        return (gains[0], gains[1], gains[2]);
    }
}
