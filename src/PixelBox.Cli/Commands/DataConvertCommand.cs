using System.CommandLine;
using PixelBox.Data;

namespace PixelBox.Cli.Commands;

/// <summary><c>pixelbox data convert --from F --to G --in DIR --out DIR [--copy]</c>: a detection dataset from one format to another.</summary>
public static class DataConvertCommand
{
    public static Command Create()
    {
        var writable = DetectionFormats.Writable.ToArray();
        var from = new Option<string>("--from") { Description = "Input format: " + string.Join("; ", DetectionFormats.All.Select(f => $"{f.Name} = {f.Layout}")), Required = true };
        from.AcceptOnlyFromAmong(DetectionFormats.All.Select(f => f.Name).ToArray());
        var to = new Option<string>("--to") { Description = "Output format: " + string.Join(", ", writable), Required = true };
        to.AcceptOnlyFromAmong(writable);
        var input = new Option<string>("--in") { Description = "Input dataset folder (for yolo also a data.yaml file)", Required = true, HelpName = "DIR" };
        var output = new Option<string>("--out") { Description = "Output folder to create: new or empty, not the input nor inside it; written beside and renamed into place when complete", Required = true, HelpName = "DIR" };
        var copy = new Option<bool>("--copy") { Description = "Copy image files; by default they are hard-linked when the output is on the same file system (no space used; both names share the file), else copied" };
        var command = new Command("convert",
            "Convert a detection dataset between COCO, Pascal VOC and YOLO txt, splits included. Boxes read back bit for bit (float32 pixels); "
            + "what the output format cannot hold (iscrowd, difficult/truncated, COCO ids and areas, splits without a data.yaml key) is reported as a warning.")
        {
            from, to, input, output, copy,
        };
        command.SetAction(parse =>
        {
            var result = DetectionDatasetConverter.Convert(parse.GetValue(input)!, parse.GetValue(from)!, parse.GetValue(output)!, parse.GetValue(to)!,
                parse.GetValue(copy) ? ImageTransfer.Copy : ImageTransfer.Link);
            foreach (var issue in result.Issues)
                Console.Error.WriteLine($"warning: {issue}");
            foreach (var (split, images, objects) in result.Splits)
                Console.Out.WriteLine($"{split}: {images} images, {objects} objects");
            Console.Out.WriteLine($"wrote {result.Output}");
            return 0;
        });
        return command;
    }
}
