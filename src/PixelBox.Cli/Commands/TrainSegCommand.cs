using System.CommandLine;
using PixelBox.Data;
using PixelBox.Losses;
using PixelBox.Models;
using PixelBox.Training;
using PixelBox.Cli.Shared;
using Spectre.Console;
using TorchSharp;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox train seg`: trains a segmentation model on a dataset in one of the segmentation formats.</summary>
public static class TrainSegCommand
{
    // Bounds against typos and values no run can use; each says why.
    /// <summary>Past it a run does not end in anyone's lifetime (the bound only keeps counters far from overflow).</summary>
    const int MaxEpochs = 1_000_000;
    const long MaxIterations = 1_000_000_000_000;
    /// <summary>A batch is one tensor of N*3*H*W floats plus activations: 4096 images of 256x256 are 3 GiB of input alone.</summary>
    const int MaxBatchSize = 4096;
    /// <summary>A crop of side S costs width*S^2*4 bytes per feature map and image: at 4096 and width 32, 2 GiB each.</summary>
    const int MaxCrop = 4096;
    /// <summary>Rates above 10 diverge with either optimizer on a normalised network.</summary>
    const double MaxLearningRate = 10;
    /// <summary>The augmentation computes only the crop, so scale costs nothing; past 10x a crop shows a few source pixels.</summary>
    const double MaxScale = 10;
    const int MaxWorkers = 256;

    /// <summary>Options a resumed run may be given: where it is and what it reads, how long it runs, and machine settings
    /// that never change its numbers. Every other option is stored in the checkpoint and kept.</summary>
    static readonly string[] ResumeMayChange = ["--out", "--resume", "--data", "--epochs", "--iterations", "--workers", "--threads", "--precision", "--verbose"];

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Dataset folder in the --format layout (train and val splits); required unless --resume", HelpName = "DIR" };
        var format = new Option<string>("--format")
        {
            Description = "Dataset layout, which also gives the classes: " + string.Join("; ", SegmentationFormats.All.Select(f => $"{f.Name} = {f.Layout}")),
            DefaultValueFactory = _ => SegmentationFormats.Masks.Name,
            HelpName = string.Join('|', SegmentationFormats.Names),
        }.OneOf([.. SegmentationFormats.Names]);
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Segmentation))}; required unless --resume", HelpName = "NAME" }
            .OneOf([.. ModelRegistry.NamesOf(ModelTasks.Segmentation)]);
        var output = new Option<string>("--out") { Description = "Run folder for checkpoints, metrics.jsonl and curves.png", Required = true, HelpName = "RUN" };
        var width = new Option<int?>("--width")
        {
            Description = $"unet-same: channels of the first level, doubling per level, 1-{ModelLimits.MaxUNetWidth} [default: 32]; " +
                          $"width * 2^(depth-1) at most {ModelLimits.MaxUNetBottomWidth} (~0.5 billion parameters)",
            HelpName = "W",
        }.InRange(1, ModelLimits.MaxUNetWidth);
        var depth = new Option<int?>("--depth")
        {
            Description = $"unet-same: number of levels, 2-{ModelLimits.MaxUNetDepth} [default: 5]; image (or crop) sides must be multiples of 2^(depth-1) (16 at depth 5)",
            HelpName = "D",
        }.InRange(2, ModelLimits.MaxUNetDepth);
        var backboneWeights = new Option<string?>("--backbone-weights")
        {
            Description = "torchvision ImageNet classifier state dict (resnet50/101, mobilenet_v3_large, vgg16_bn; .pth/.pt or .safetensors) " +
                          "loaded into the model's encoder before training (strict: every encoder tensor must be in the file)",
            HelpName = "FILE",
        };
        var resume = new Option<bool>("--resume")
        {
            Description = "Continue the run in --out from its last.ckpt. It keeps every stored option (model, --format and data options, optimizer, schedule, seed); " +
                          "you may give --data (the dataset moved), --workers, --threads, and a larger --epochs or --iterations to extend the run, " +
                          "even a finished one (the learning-rate schedule is then recomputed for the new length)",
        };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split", DefaultValueFactory = _ => 30, HelpName = "N" }.InRange(1, MaxEpochs);
        var iterations = new Option<long>("--iterations") { Description = "Run length in optimizer steps instead of epochs", HelpName = "N" }.InRange(1, MaxIterations);
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 8, HelpName = "N" }.InRange(1, MaxBatchSize);
        var optimizer = OptionRules.Choice("--optimizer", "SGD with momentum, or AdamW", OptimizerKind.AdamW);
        var lr = new Option<double>("--lr") { Description = $"Base learning rate, in (0, {MaxLearningRate}]", DefaultValueFactory = _ => 1e-3, HelpName = "RATE" }.Positive(MaxLearningRate);
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum, in [0, 1)", DefaultValueFactory = _ => 0.9, HelpName = "M" }.InRange(0, 0.9999);
        var weightDecay = new Option<double>("--weight-decay") { Description = "Weight decay, in [0, 1] (not applied to biases and norm layers)", DefaultValueFactory = _ => 1e-4, HelpName = "WD" }.InRange(0, 1);
        var schedule = OptionRules.Choice("--schedule", "Learning-rate decay over the run", ScheduleKind.Poly);
        var polyPower = new Option<double>("--poly-power") { Description = "Exponent of the poly schedule", DefaultValueFactory = _ => 0.9, HelpName = "P" }.Positive(100);
        var minLr = new Option<double>("--min-lr") { Description = "Rate the decay ends at, at most --lr [default: 0]", HelpName = "RATE" }.InRange(0, MaxLearningRate);
        var warmup = new Option<int>("--warmup") { Description = "Linear warmup steps [default: 0]", HelpName = "N" }.InRange(0, 1_000_000_000);
        var crop = new Option<int>("--crop")
        {
            Description = $"Random scale/crop/flip to CROP x CROP training crops, up to {MaxCrop} (0: whole images, no augmentation) [default: 0]; " +
                          "the crop (or every image) must be a size the model takes",
            HelpName = "CROP",
        }.InRange(0, MaxCrop);
        var minScale = new Option<double>("--min-scale") { Description = "Smallest random scale, at most --max-scale", DefaultValueFactory = _ => 0.5, HelpName = "S" }.Positive(MaxScale);
        var maxScale = new Option<double>("--max-scale") { Description = $"Largest random scale, up to {MaxScale}", DefaultValueFactory = _ => 2.0, HelpName = "S" }.Positive(MaxScale);
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flips" };
        var loss = new Option<string>("--loss") { Description = "Loss", DefaultValueFactory = _ => "ce", HelpName = string.Join('|', SegmentationLoss.Names) }
            .OneOf(SegmentationLoss.Names);
        var classWeights = new Option<string>("--class-weights") { Description = "Comma-separated loss weight per class, >= 0, not all 0 (ce, focal)", HelpName = "W0,W1,..." };
        var workers = new Option<int>("--workers") { Description = "Data loading threads", DefaultValueFactory = _ => 2, HelpName = "N" }.InRange(1, MaxWorkers);
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation, data order and augmentation [default: 0]", HelpName = "K" };
        var precision = TorchSetup.PrecisionOption("the validation each epoch (training is fp32)");
        var threads = TorchSetup.ThreadsOption();

        var command = new Command("seg",
            "Train a semantic segmentation model; writes RUN/best.ckpt, RUN/last.ckpt, RUN/metrics.jsonl and RUN/curves.png. " +
            "A new run needs --data, --model and --out; --resume needs only --out.")
        {
            data, format, model, width, depth, output, resume, epochs, iterations, batchSize, optimizer, lr, momentum, weightDecay, schedule,
            polyPower, minLr, warmup, crop, minScale, maxScale, noFlip, loss, classWeights, workers, seed, precision, threads, backboneWeights,
        };
        command.SetAction((parse, cancellation) =>
        {
            if (parse.WasGiven(epochs) && parse.WasGiven(iterations))
                throw new InputException("--iterations", "give the run length once: --epochs or --iterations, not both");
            var outDir = parse.GetValue(output)!;
            SegmentationTraining run;
            if (parse.GetValue(resume))
            {
                foreach (var option in command.Options)
                    if (!ResumeMayChange.Contains(option.Name) && parse.WasGiven(option))
                        throw new InputException(option.Name, "cannot be changed when resuming: the run keeps the options stored in its checkpoint " +
                                                              "(--resume takes --data, --epochs, --iterations, --workers, --threads and --precision); start a new run in another --out to change it");
                if (parse.GetValue(data) is { } movedData)
                    CheckOutsideDataset(outDir, movedData, StoredFormat(outDir));
                TorchSetup.Configure(parse, threads);
                var length = parse.WasGiven(epochs) || parse.WasGiven(iterations)
                    ? new RunLength(parse.WasGiven(epochs) ? parse.GetValue(epochs) : null, parse.WasGiven(iterations) ? parse.GetValue(iterations) : null)
                    : null;
                run = SegmentationTraining.Resume(outDir, parse.GetValue(data), length, parse.WasGiven(workers) ? parse.GetValue(workers) : null,
                                                  parse.WasGiven(precision) ? parse.GetValue(precision) : null);
            }
            else
            {
                var dataDir = parse.GetValue(data) ?? throw new InputException("--data", "required (the dataset to train on) unless --resume");
                var modelName = parse.GetValue(model) ?? throw new InputException("--model", $"required (one of {string.Join(", ", ModelRegistry.NamesOf(ModelTasks.Segmentation))}) unless --resume");
                if (File.Exists(Path.Combine(outDir, Trainer.LastCheckpointName)))
                    throw new InputException(outDir, "already holds a training run (last.ckpt); pass --resume to continue it or choose another --out");
                var formatName = parse.GetValue(format)!;
                CheckOutsideDataset(outDir, dataDir, formatName);
                var task = new SegmentationTaskOptions
                {
                    DataRoot = dataDir,
                    Format = formatName,
                    ModelName = modelName,
                    ModelSize = ModelSize(parse, modelName, width, depth),
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
                    BackboneWeights = parse.GetValue(backboneWeights) is { } weights ? Path.GetFullPath(weights) : null,
                };
                if (task.MinScale > task.MaxScale)
                    throw new InputException("--min-scale", $"{task.MinScale} is larger than --max-scale {task.MaxScale}");
                var training = new TrainingOptions
                {
                    Optimizer = parse.ValueOr(optimizer, OptimizerKind.AdamW),
                    LearningRate = parse.GetValue(lr),
                    Momentum = parse.GetValue(momentum),
                    WeightDecay = parse.GetValue(weightDecay),
                    Schedule = parse.ValueOr(schedule, ScheduleKind.Poly),
                    PolyPower = parse.GetValue(polyPower),
                    MinLearningRate = parse.GetValue(minLr),
                    WarmupIterations = parse.GetValue(warmup),
                    Epochs = parse.GetValue(epochs),
                    Iterations = parse.GetValue(iterations),
                    Seed = parse.GetValue(seed),
                };
                if (training.MinLearningRate > training.LearningRate)
                    throw new InputException("--min-lr", $"{training.MinLearningRate} is larger than --lr {training.LearningRate}");
                TorchSetup.Configure(parse, threads);
                run = SegmentationTraining.Start(task, training, outDir);
            }
            using (run)
            {
                if (run.StoredOptions is { } stored && !ReportResume(run, stored, outDir))
                    return Task.FromResult(0);
                if (run.BackboneReport is { } backbone)
                    TrainingDisplay.Say($"Encoder from {run.Task.BackboneWeights}: {backbone.Loaded.Count} tensors loaded, {backbone.Ignored.Count} of the classifier ignored");
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(run.Info.Name)}[/], {run.Info.NumClasses} classes ({Markup.Escape(string.Join(", ", run.Info.ClassNames))}), " +
                                       $"{run.Trainer.TotalEpochs} epochs / {run.Trainer.TotalIterations} steps, {torch.get_num_threads()} threads");
                var state = TrainingDisplay.Run(run.Trainer, cancellation, "pixel_accuracy");
                if (state is null)
                    return Task.FromResult(ErrorReporting.Interrupted);
                TrainingDisplay.PrintSummary(run.Trainer, state);
            }
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>
    /// Says where a resumed run stands and, for a new length, what happens to the learning rate. False when
    /// there is nothing left to train (a finished run given no larger length), after saying so.
    /// </summary>
    static bool ReportResume(SegmentationTraining run, TrainingOptions stored, string outDir)
    {
        var trainer = run.Trainer;
        var state = trainer.State;
        var where = Path.GetFullPath(outDir);
        if (state.Iteration >= trainer.TotalIterations)
        {
            TrainingDisplay.Say($"The run in {where} has finished its {state.Epoch} epochs ({state.Iteration} steps): nothing to train. " +
                                   $"To train longer, resume with a larger --epochs (more than {state.Epoch}) or --iterations.");
            return false;
        }
        TrainingDisplay.Say($"Resuming {where} after epoch {state.Epoch} (step {state.Iteration}) with its stored options");
        if (stored != state.Options)
        {
            long oldTotal = stored.TotalIterations(run.BatchesPerEpoch);
            var schedule = state.Options.ScheduleFor(trainer.TotalIterations);
            var was = state.Iteration > 0 ? stored.ScheduleFor(oldTotal).At(state.Iteration - 1) : stored.LearningRate;
            TrainingDisplay.Say($"Run length {oldTotal} -> {trainer.TotalIterations} steps ({stored.TotalEpochs(run.BatchesPerEpoch)} -> {trainer.TotalEpochs} epochs). " +
                                   $"The {state.Options.Schedule.ToString().ToLowerInvariant()} learning-rate schedule is recomputed for the new length (stretched, " +
                                   $"as if the run had been started with it): step {state.Iteration + 1} uses {schedule.At(state.Iteration):0.###e+0} " +
                                   $"(step {state.Iteration} used {was:0.###e+0}), step {trainer.TotalIterations} {schedule.At(trainer.TotalIterations - 1):0.###e+0}.");
        }
        return true;
    }

    /// <summary>Width and depth apply to unet-same only, and together must stay buildable.</summary>
    static ModelSize? ModelSize(ParseResult parse, string modelName, Option<int?> width, Option<int?> depth)
    {
        if (parse.GetValue(width) is null && parse.GetValue(depth) is null)
            return null;
        if (modelName != "unet-same")
            throw new InputException(parse.GetValue(width) is null ? "--depth" : "--width", $"only unet-same takes a width and depth, not {modelName}");
        var size = new ModelSize(parse.GetValue(width) ?? 32, parse.GetValue(depth) ?? 5);
        if (ModelLimits.UNetSizeProblem(size.BaseWidth, size.Depth) is { } problem)
            throw new InputException(parse.GetValue(depth) is null ? "--width" : "--depth", problem);
        return size;
    }

    /// <summary>A run folder in the dataset's sample folders (images/ or masks/, JPEGImages/, ...) would mix run files
    /// with the samples (curves.png would become an image, or replace one).</summary>
    static void CheckOutsideDataset(string outDir, string? dataDir, string formatName)
    {
        if (dataDir is null || !Directory.Exists(dataDir))
            return;
        foreach (var samples in SegmentationFormats.Get(formatName).SampleFolders)
            if (OutputPlan.IsWithin(outDir, Path.Combine(dataDir, samples)))
                throw new InputException(outDir, $"--out is in the dataset's {samples}/ folder ({Path.Combine(dataDir, samples)}); " +
                                                 "run files (curves.png, checkpoints) would mix with the samples; choose a folder outside it");
    }

    /// <summary>The format a run's checkpoint stored (masks when it has none, or cannot be read: resuming reports that).</summary>
    static string StoredFormat(string outDir)
    {
        try
        {
            var checkpoint = Checkpoint.Open(Path.Combine(outDir, Trainer.LastCheckpointName));
            return checkpoint.Header["task"]?["format"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue(out string? name)
                   && SegmentationFormats.Names.Contains(name) ? name : SegmentationFormats.Masks.Name;
        }
        catch (InputException)
        {
            return SegmentationFormats.Masks.Name;
        }
    }

    static double[]? ParseWeights(string? text)
    {
        if (text is null)
            return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var weights = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out weights[i])
                || !(weights[i] >= 0) || double.IsInfinity(weights[i]))
                throw new InputException("--class-weights", $"'{parts[i]}' is not a non-negative number");
        if (weights.All(w => w == 0))
            throw new InputException("--class-weights", "all weights are 0: the loss would be 0/0");
        return weights;
    }
}
