using System.CommandLine;
using PixelBox.Cli.Shared;
using PixelBox.Onnx;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox quantize`: an exported ONNX model as a static int8 QDQ model calibrated on images.</summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Float ONNX model written by `export onnx`", Required = true, HelpName = "MODEL.onnx" };
        var calibration = new Option<string>("--calibration")
        {
            Description = "Folder of calibration images (e.g. training images), preprocessed as `predict` does for this model",
            Required = true,
            HelpName = "DIR",
        };
        var output = new Option<string>("--out") { Description = "Quantized ONNX file to write (not the --model file)", Required = true, HelpName = "MODEL.int8.onnx" };
        var method = OptionRules.Choice("--method", "Activation ranges: min-max of the values, percentiles (outliers clipped) or least KL divergence (TensorRT's entropy)",
            CalibrationMethod.MinMax);
        var percentile = new Option<double>("--percentile")
        {
            Description = "For --method percentile: the percentile kept at each end of an activation's range",
            DefaultValueFactory = _ => 99.99,
            HelpName = "P",
        };
        var images = new Option<int>("--images")
        {
            Description = "Calibration images used at most (evenly spaced through the folder)",
            DefaultValueFactory = _ => ModelQuantization.DefaultImages,
            HelpName = "N",
        }.InRange(1, 100_000);
        var threads = new Option<int?>("--threads") { Description = "ONNX Runtime threads while calibrating [default: all cores]", HelpName = "N" }.InRange(1, 1024);
        var command = new Command("quantize", "Quantize an exported ONNX model to int8 (QDQ: int8 per-channel weights, uint8 per-tensor activations calibrated on images), " +
                                              "run by ONNX Runtime's int8 kernels; `predict seg|det --model` takes the result as it takes the float model.")
        {
            model, calibration, output, method, percentile, images, threads,
        };
        command.SetAction(parse =>
        {
            if (parse.WasGiven(percentile) && parse.GetValue(method) != CalibrationMethod.Percentile)
                throw new InputException("--percentile", "applies to --method percentile");
            var settings = new CalibrationSettings
            {
                Method = parse.ValueOr(method, CalibrationMethod.MinMax),
                Percentile = parse.GetValue(percentile),
                Threads = parse.GetValue(threads) ?? Environment.ProcessorCount,
            };
            QuantizationSummary? summary = null;
            LiveProgress.Run(context =>
            {
                var bars = new Dictionary<string, ProgressTask>();
                summary = ModelQuantization.Quantize(parse.GetValue(model)!, parse.GetValue(calibration)!, parse.GetValue(output)!, settings,
                    parse.GetValue(images), context is null ? null : (pass, done, total) =>
                    {
                        if (!bars.TryGetValue(pass, out var bar))
                            bar = bars[pass] = context.AddTask($"calibrating: {pass}", maxValue: total);
                        bar.Value = done;
                    });
            });
            var s = summary!;
            TrainingDisplay.Say($"Wrote {s.Path}: {s.Model} ({s.Task}) int8, {s.QuantizedNodes} Conv/Gemm nodes quantized" +
                                (s.FloatConvolutions > 0 ? $" ({s.FloatConvolutions} left float)" : "") +
                                $", {s.Activations} activations calibrated on {s.Images} images ({s.Method.ToString().ToLowerInvariant()}); " +
                                $"{s.Bytes / 1e6:F1} MB (float {s.FloatBytes / 1e6:F1} MB)");
            return 0;
        });
        return command;
    }
}
