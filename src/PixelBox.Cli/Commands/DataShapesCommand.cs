using System.CommandLine;
using PixelBox.Data;
using PixelBox.Cli.Shared;
using Spectre.Console;

namespace PixelBox.Cli.Commands;

/// <summary>`pixelbox data shapes`: writes the synthetic shapes dataset (images, index masks, COCO instances, train/val split).</summary>
public static class DataShapesCommand
{
    public static Command Create()
    {
        var outDir = new Option<string>("--out") { Description = "Folder to create (must be new or empty)", Required = true, HelpName = "DIR" };
        var count = new Option<int>("--count") { Description = "Number of images", DefaultValueFactory = _ => 1000, HelpName = "N" };
        var size = new Option<int>("--size") { Description = "Image side in pixels", DefaultValueFactory = _ => 128, HelpName = "S" };
        var seed = new Option<int>("--seed") { Description = "Random seed; the same seed gives the same files", DefaultValueFactory = _ => 0, HelpName = "K" };
        count.InRange(1, 10_000_000);
        size.InRange(ShapesDataset.MinImageSize, 8192);

        var command = new Command("shapes", "Generate a synthetic segmentation/detection dataset of circles, squares, triangles and stars on cluttered backgrounds.")
        {
            outDir, count, size, seed,
        };
        command.SetAction(parse =>
        {
            var dir = parse.GetValue(outDir)!;
            int n = parse.GetValue(count), s = parse.GetValue(size), k = parse.GetValue(seed);
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("Generating images", maxValue: n);
                    ShapesDataset.Generate(dir, n, s, k, progress: new TaskProgress(task));
                });
            var full = Path.GetFullPath(dir);
            int train = File.ReadLines(Path.Combine(full, "train.txt")).Count();
            int val = File.ReadLines(Path.Combine(full, "val.txt")).Count();
            AnsiConsole.MarkupLine($"Wrote {n} images of {s}x{s} ({train} train, {val} val) to [bold]{Markup.Escape(full)}[/]");
            AnsiConsole.MarkupLine("  images/*.png (RGB), masks/*.png (index masks, VOC palette)");
            AnsiConsole.MarkupLine("  labels: 0 background, 1 circle, 2 square, 3 triangle, 4 star (classes.txt)");
            AnsiConsole.MarkupLine("  train.txt, val.txt (ids), instances.json (COCO polygons)");
            return 0;
        });
        return command;
    }

    /// <summary>Sets the bar directly: Progress&lt;T&gt; would post updates asynchronously and may lag behind completion.</summary>
    sealed class TaskProgress(ProgressTask task) : IProgress<int>
    {
        public void Report(int value) => task.Value = value;
    }
}
