using System.CommandLine;
using System.Globalization;
using PixelBox.Boxes;

namespace PixelBox.Cli.Commands;

/// <summary>
/// `pixelbox nms --dt RESULTS.json [MORE.json ...] --method nms|soft-linear|soft-gaussian|wbf --iou 0.5
/// [--class-agnostic] [--score-threshold T] --out OUT.json`: filters or fuses COCO results files
/// (<see cref="CocoResultsNms"/>). Touches no TorchSharp type.
/// </summary>
public static class NmsCommand
{
    public static Command Create()
    {
        var dt = new Option<string[]>("--dt")
        {
            Description = "COCO results JSON file(s); several files are pooled (an ensemble: one model per file)",
            Required = true, AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore, HelpName = "RESULTS.json",
        };
        var method = new Option<string>("--method") { Description = "nms, soft-linear, soft-gaussian or wbf", DefaultValueFactory = _ => "nms" };
        method.AcceptOnlyFromAmong("nms", "soft-linear", "soft-gaussian", "wbf");
        var iou = new Option<double>("--iou") { Description = "IoU threshold (boxes with IoU above it suppress, decay or fuse)", DefaultValueFactory = _ => 0.5, HelpName = "T" };
        var agnostic = new Option<bool>("--class-agnostic") { Description = "one pass over all categories of an image instead of one per category" };
        var scoreThreshold = new Option<double?>("--score-threshold")
        {
            Description = "drop results scoring below T first (Soft-NMS: also when decayed below T; default there 0.001)", HelpName = "T",
        };
        var sigma = new Option<double>("--sigma") { Description = "Gaussian Soft-NMS width", DefaultValueFactory = _ => 0.5 };
        var maxDets = new Option<int?>("--max-dets") { Description = "keep at most N results per image (the best)", HelpName = "N" };
        var weights = new Option<string?>("--weights") { Description = "wbf: comma-separated weight per --dt file (default all 1)", HelpName = "W1,W2,..." };
        var confType = new Option<string>("--conf-type")
        {
            Description = "wbf fused score: avg, max, box_and_model_avg or absent_model_aware_avg (ensemble_boxes' conf_type)",
            DefaultValueFactory = _ => "avg",
        };
        confType.AcceptOnlyFromAmong("avg", "max", "box_and_model_avg", "absent_model_aware_avg");
        var output = new Option<string>("--out") { Description = "output COCO results JSON (not one of the inputs)", Required = true, HelpName = "OUT.json" };
        var command = new Command("nms", "Filter or fuse COCO detection results: NMS, Soft-NMS or weighted boxes fusion, per image and category.")
        {
            dt, method, iou, agnostic, scoreThreshold, sigma, maxDets, weights, confType, output,
        };
        command.SetAction(parse =>
        {
            var inputs = parse.GetValue(dt)!;
            var options = new ResultsNmsOptions
            {
                Method = parse.GetValue(method) switch
                {
                    "soft-linear" => ResultsNmsMethod.SoftLinear,
                    "soft-gaussian" => ResultsNmsMethod.SoftGaussian,
                    "wbf" => ResultsNmsMethod.Wbf,
                    _ => ResultsNmsMethod.Nms,
                },
                IouThreshold = parse.GetValue(iou),
                ClassAgnostic = parse.GetValue(agnostic),
                ScoreThreshold = parse.GetValue(scoreThreshold),
                Sigma = parse.GetValue(sigma),
                MaxDetections = parse.GetValue(maxDets),
                Weights = ParseWeights(parse.GetValue(weights)),
                Confidence = parse.GetValue(confType) switch
                {
                    "max" => WbfConfidence.Max,
                    "box_and_model_avg" => WbfConfidence.BoxAndModelAvg,
                    "absent_model_aware_avg" => WbfConfidence.AbsentModelAwareAvg,
                    _ => WbfConfidence.Avg,
                },
            };
            var outPath = parse.GetValue(output)!;
            var s = CocoResultsNms.Run(inputs, outPath, options);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{parse.GetValue(method)}: {s.ResultsIn:N0} results from {s.Files} file(s) on {s.Images:N0} image(s) -> {s.ResultsOut:N0} kept"));
            Console.Out.WriteLine("wrote " + outPath);
            return 0;
        });
        return command;
    }

    static double[]? ParseWeights(string? text)
    {
        if (text is null)
            return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]))
                throw new InputException($"--weights: '{text}' is not a comma-separated list of numbers");
        return values;
    }
}
