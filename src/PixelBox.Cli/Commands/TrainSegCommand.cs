using System.CommandLine;
using PixelBox.Data;
using PixelBox.Losses;
using PixelBox.Models;
using PixelBox.Training;
using PixelBox.Cli.Shared;
using Spectre.Console;
using TorchSharp;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox train seg`: trains a segmentation model on a mask-folder dataset.</summary>
public static class TrainSegCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Mask-folder dataset (images/, masks/, train.txt, val.txt, classes.txt)", HelpName = "DIR" };
        var model = new Option<string>("--model") { Description = $"Model name: {string.Join(", ", ModelRegistry.Names)}", HelpName = "NAME" };
        var output = new Option<string>("--out") { Description = "Run folder for checkpoints, metrics.jsonl and curves.png", Required = true, HelpName = "RUN" };
        var width = new Option<int?>("--width") { Description = "unet-same: channels of the first level, doubling per level (default 32)", HelpName = "W" };
        var depth = new Option<int?>("--depth") { Description = "unet-same: number of levels (default 5; sides must be multiples of 2^(depth-1))", HelpName = "D" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last.ckpt with its stored options (--data may point to the moved dataset)" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => 30, HelpName = "N" };
        var iterations = new Option<long>("--iterations") { Description = "Run length in optimizer steps instead of epochs", HelpName = "N" };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 8, HelpName = "N" };
        var optimizer = new Option<OptimizerKind>("--optimizer") { Description = "sgd (momentum) or adamw", DefaultValueFactory = _ => OptimizerKind.AdamW };
        var lr = new Option<double>("--lr") { Description = "Base learning rate", DefaultValueFactory = _ => 1e-3, HelpName = "RATE" };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9, HelpName = "M" };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay (not applied to biases and norm layers)", DefaultValueFactory = _ => 1e-4, HelpName = "WD" };
        var schedule = new Option<ScheduleKind>("--schedule") { Description = "Learning-rate decay: poly, cosine or constant", DefaultValueFactory = _ => ScheduleKind.Poly };
        var polyPower = new Option<double>("--poly-power") { Description = "Exponent of the poly schedule", DefaultValueFactory = _ => 0.9, HelpName = "P" };
        var minLr = new Option<double>("--min-lr") { Description = "Rate the decay ends at", HelpName = "RATE" };
        var warmup = new Option<int>("--warmup") { Description = "Linear warmup steps", HelpName = "N" };
        var crop = new Option<int>("--crop") { Description = "Random scale/crop/flip to CROP x CROP training crops (0: whole images, no augmentation)", HelpName = "CROP" };
        var minScale = new Option<double>("--min-scale") { Description = "Smallest random scale", DefaultValueFactory = _ => 0.5, HelpName = "S" };
        var maxScale = new Option<double>("--max-scale") { Description = "Largest random scale", DefaultValueFactory = _ => 2.0, HelpName = "S" };
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flips" };
        var loss = new Option<string>("--loss") { Description = $"Loss: {string.Join(", ", SegmentationLoss.Names)}", DefaultValueFactory = _ => "ce", HelpName = "NAME" };
        var classWeights = new Option<string>("--class-weights") { Description = "Comma-separated loss weight per class (ce, focal)", HelpName = "W0,W1,..." };
        var workers = new Option<int>("--workers") { Description = "Data loading threads", DefaultValueFactory = _ => 2, HelpName = "N" };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, data order and augmentation", HelpName = "K" };
        var precision = TorchSetup.PrecisionOption("the validation each epoch (training is fp32)");
        var threads = TorchSetup.ThreadsOption();

        var command = new Command("seg", "Train a semantic segmentation model; writes RUN/best.ckpt, RUN/last.ckpt, RUN/metrics.jsonl and RUN/curves.png.")
        {
            data, model, width, depth, output, resume, epochs, iterations, batchSize, optimizer, lr, momentum, weightDecay, schedule,
            polyPower, minLr, warmup, crop, minScale, maxScale, noFlip, loss, classWeights, workers, seed, precision, threads,
        };
        command.SetAction((parse, cancellation) =>
        {
            TorchSetup.Configure(parse.GetValue(threads));
            var outDir = parse.GetValue(output)!;
            SegmentationTraining run;
            if (parse.GetValue(resume))
            {
                run = SegmentationTraining.Resume(outDir, parse.GetValue(data), TorchSetup.IsGiven(parse, precision) ? parse.GetValue(precision) : null);
                AnsiConsole.MarkupLine($"Resuming [bold]{Markup.Escape(Path.GetFullPath(outDir))}[/] after epoch {run.Trainer.State.Epoch} (stored options are used)");
            }
            else
            {
                var dataDir = parse.GetValue(data) ?? throw new InputException("--data", "required (the dataset to train on)");
                var modelName = parse.GetValue(model) ?? throw new InputException("--model", $"required (one of {string.Join(", ", ModelRegistry.Names)})");
                if (File.Exists(Path.Combine(outDir, Trainer.LastCheckpointName)))
                    throw new InputException(outDir, "already holds a training run (last.ckpt); pass --resume to continue it or choose another --out");
                var task = new SegmentationTaskOptions
                {
                    DataRoot = dataDir,
                    ModelName = modelName,
                    ModelSize = parse.GetValue(width) is null && parse.GetValue(depth) is null
                        ? null
                        : new ModelSize(parse.GetValue(width) ?? 32, parse.GetValue(depth) ?? 5),
                    BatchSize = parse.GetValue(batchSize),
                    CropSize = parse.GetValue(crop),
                    MinScale = parse.GetValue(minScale),
                    MaxScale = parse.GetValue(maxScale),
                    HorizontalFlip = !parse.GetValue(noFlip),
                    Loss = parse.GetValue(loss)!,
                    ClassWeights = ParseWeights(parse.GetValue(classWeights)),
                    Workers = parse.GetValue(workers),
                    Normalization = Normalization.ImageNet,
                    ValidationPrecision = parse.GetValue(precision),
                };
                var training = new TrainingOptions
                {
                    Optimizer = parse.GetValue(optimizer),
                    LearningRate = parse.GetValue(lr),
                    Momentum = parse.GetValue(momentum),
                    WeightDecay = parse.GetValue(weightDecay),
                    Schedule = parse.GetValue(schedule),
                    PolyPower = parse.GetValue(polyPower),
                    MinLearningRate = parse.GetValue(minLr),
                    WarmupIterations = parse.GetValue(warmup),
                    Epochs = parse.GetValue(epochs),
                    Iterations = parse.GetValue(iterations),
                    Seed = parse.GetValue(seed),
                };
                run = SegmentationTraining.Start(task, training, outDir);
            }
            using (run)
            {
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(run.Info.Name)}[/], {run.Info.NumClasses} classes ({Markup.Escape(string.Join(", ", run.Info.ClassNames))}), " +
                                       $"{run.Trainer.TotalEpochs} epochs / {run.Trainer.TotalIterations} steps, {torch.get_num_threads()} threads");
                var state = TrainingDisplay.Run(run.Trainer, cancellation, "pixel_accuracy");
                if (state is null)
                    return Task.FromResult(130);
                TrainingDisplay.PrintSummary(run.Trainer, state);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    static double[]? ParseWeights(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
            return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var weights = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out weights[i])
                || !(weights[i] >= 0) || double.IsInfinity(weights[i]))
                throw new InputException("--class-weights", $"'{parts[i]}' is not a non-negative number");
        return weights;
    }
}
