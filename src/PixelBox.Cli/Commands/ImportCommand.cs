using System.CommandLine;
using System.Globalization;
using PixelBox.Cli.Shared;
using PixelBox.Data;
using PixelBox.Interop;
using PixelBox.Models;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox import`: a PyTorch state dict (torchvision key names) into a checkpoint that `predict seg` / `predict det` run.</summary>
public static class ImportCommand
{
    /// <summary>Names listed per kind of problem in the report (a file of another architecture has hundreds).</summary>
    const int ListedPerKind = 20;

    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = "Registry model to load into (see `pixelbox models`), e.g. deeplabv3-resnet50, ssd300-vgg16", Required = true, HelpName = "NAME" };
        var weights = new Option<string>("--weights") { Description = "PyTorch state dict: torch.save zip file (.pth/.pt) or .safetensors", Required = true, HelpName = "FILE.pth|.pt|.safetensors" };
        var numClasses = new Option<int>("--num-classes")
        {
            Description = "Classes of the model: segmentation classes; detection object classes without the background (torchvision's num_classes - 1 for SSD)",
            Required = true,
            HelpName = "K",
        }.InRange(1, ModelLimits.MaxClasses);
        var output = new Option<string>("--out") { Description = "Checkpoint to write (not the weights file)", Required = true, HelpName = "MODEL.ckpt" };
        var nonStrict = new Option<bool>("--non-strict") { Description = "Load the entries that fit and keep the rest freshly initialised (the report lists what did not fit)" };
        var mean = new Option<string?>("--mean") { Description = "Input normalisation mean of R, G, B on the 0..1 scale (default: ImageNet's for segmentation, the detector's torchvision default)", HelpName = "a,b,c" };
        var std = new Option<string?>("--std") { Description = "Input normalisation standard deviation of R, G, B on the 0..1 scale (default as --mean)", HelpName = "a,b,c" };
        var task = new Option<string>("--task") { Description = "Task the model must serve: seg or det (default: the architecture's)", HelpName = "seg|det" }
            .OneOf(["seg", "det"]);
        var command = new Command("import", "Import a PyTorch state dict (torchvision key names) into a PixelBox checkpoint for `predict seg` / `predict det`; " +
                                            "strict by default: missing, unexpected and wrong-shape entries are listed and nothing is written (exit 2).")
        {
            arch, weights, numClasses, output, nonStrict, mean, std, task,
        };
        command.SetAction(parse =>
        {
            var weightsPath = parse.GetValue(weights)!;
            var request = new ImportRequest(parse.GetValue(arch)!, weightsPath, parse.GetValue(numClasses), parse.GetValue(output)!,
                Strict: !parse.GetValue(nonStrict),
                Normalization: NormalizationOf(parse.GetValue(mean), parse.GetValue(std), parse.GetValue(arch)!),
                Task: parse.GetValue(task) switch { "seg" => ModelTasks.Segmentation, "det" => ModelTasks.Detection, _ => null });
            var result = ModelImport.Run(request, (report, hint) => ShowReport(report, hint, request));
            var loaded = result.Report.IsExact
                ? $"all {result.Report.Loaded.Count} entries loaded"
                : $"{result.Report.Loaded.Count} entries loaded, the rest freshly initialised (--non-strict)";
            Console.Out.WriteLine($"Wrote {result.CheckpointPath}: {request.Arch} ({result.Task}, {request.NumClasses} classes), {loaded}");
            return 0;
        });
        return command;
    }

    /// <summary>The report before the outcome: one line when everything fits, else the names by kind (bounded) on stderr.</summary>
    static void ShowReport(StateDictReport report, string? hint, ImportRequest request)
    {
        if (report.IsExact)
        {
            Console.Out.WriteLine($"{request.WeightsPath}: every entry fits {request.Arch} with {request.NumClasses} classes");
            return;
        }
        var error = Console.Error;
        error.WriteLine($"{request.WeightsPath} does not fit {request.Arch} with {request.NumClasses} classes:");
        foreach (var line in report.Listing(ListedPerKind).Split('\n'))
            error.WriteLine("  " + line.TrimEnd('\r'));
        if (hint is not null)
            error.WriteLine("  " + hint);
    }

    /// <summary>--mean / --std: three numbers each; either alone leaves the other at the architecture's default.</summary>
    static Normalization? NormalizationOf(string? mean, string? std, string arch)
    {
        if (mean is null && std is null)
            return null;
        var defaults = DefaultNormalization(arch);
        return new Normalization(
            mean is null ? defaults.Mean : Triple("--mean", mean, positive: false),
            std is null ? defaults.Std : Triple("--std", std, positive: true));
    }

    static Normalization DefaultNormalization(string arch)
    {
        var entry = ModelRegistry.All.FirstOrDefault(e => e.Name == arch)
                    ?? throw new InputException("--arch", $"unknown model '{arch}' (known: {string.Join(", ", ModelRegistry.Names)})");
        if (entry.Task != ModelTasks.Detection)
            return ModelImport.DefaultSegmentationNormalization;
        using var model = entry.CreateDetection(1, 3, device: TorchSharp.torch.META);
        return model.Settings.Normalization;
    }

    static float[] Triple(string option, string text, bool positive)
    {
        var parts = text.Split(',');
        var values = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
                throw new InputException(option, $"'{text}' is not three comma-separated numbers (R, G, B)");
        if (values.Length != 3)
            throw new InputException(option, $"'{text}' has {values.Length} values; give three (R, G, B)");
        if (positive && values.Any(v => v <= 0))
            throw new InputException(option, $"'{text}': standard deviations must be positive");
        return values;
    }
}
