using System.CommandLine;
using PixelBox.Cli.Shared;
using PixelBox.Data;

namespace PixelBox.Cli.Commands;

/// <summary>
/// <c>pixelbox data check DIR --format F [--json OUT] [--headers-only]</c>: counts, class histogram and problems of a
/// dataset; exit 0 when it is usable (warnings only), 2 when it has errors.
/// </summary>
public static class DataCheckCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "The dataset folder (for yolo also a data.yaml file)" };
        var format = new Option<string>("--format")
        {
            Description = "Dataset layout: " + string.Join("; ", DataCheckFormats.All.Select(f => $"{f.Name} = {f.Description}")),
            Required = true,
        };
        format.AcceptOnlyFromAmong(DataCheckFormats.All.Select(f => f.Name).ToArray());
        var json = new Option<string?>("--json") { Description = "Also write the report as JSON to this file (for scripts)", HelpName = "OUT" };
        var headersOnly = new Option<bool>("--headers-only") { Description = "Read image headers (sizes) only instead of decoding every image: faster, but truncated or corrupt pixel data goes unnoticed" };
        var command = new Command("check",
            "Check a dataset: images and objects per split, class histogram, boxes out of bounds, degenerate boxes, empty images, missing or broken image files, duplicate ids. "
            + "Segmentation layouts (voc with SegmentationClass/, cityscapes, masks): images and sizes per split, pixels per class, missing or broken masks, mask/image size mismatches, labels out of range. "
            + "Errors (malformed files, missing/broken images, size mismatches, duplicate ids, unknown classes) make the data unusable: exit 2. "
            + "Warnings (boxes out of bounds or degenerate, which training clips or drops; empty images; images without label files; unused classes) keep exit 0.")
        {
            dir, format, json, headersOnly,
        };
        command.SetAction(parse => Run(parse.GetValue(dir)!, parse.GetValue(format)!, parse.GetValue(json), !parse.GetValue(headersOnly)));
        return command;
    }

    static int Run(string dir, string formatName, string? jsonPath, bool decode)
    {
        var format = DataCheckFormats.Get(formatName);
        IReadOnlyList<DataCheckReport> reports = [];
        LiveProgress.Run(ctx =>
        {
            var task = ctx?.AddTask(decode ? "Decoding images" : "Reading image headers");
            var progress = task is null ? null : new Progress((done, total) => { task.MaxValue = total; task.Value = done; });
            reports = format.Check(dir, new DataCheckOptions(decode, progress));
        });
        Console.Out.Write(string.Join("\n", reports.Select(r => r.FormatText())));
        if (jsonPath is not null)
        {
            AtomicFile.Write(jsonPath, stream => DataCheckReport.WriteJson(stream, reports));
            Console.Out.WriteLine($"wrote {jsonPath}");
        }
        return reports.All(r => r.Usable) ? 0 : 2;
    }

    /// <summary>Sets the bar directly (Progress&lt;T&gt; posts asynchronously and may lag behind completion).</summary>
    sealed class Progress(Action<int, int> report) : IProgress<(int Done, int Total)>
    {
        public void Report((int Done, int Total) value) => report(value.Done, value.Total);
    }
}
