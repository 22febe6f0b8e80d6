using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using PixelBox.Training;
using TorchSharp;

namespace PixelBox.Tests.Cli;

/// <summary>
/// One small world of inputs (a dataset, masks, COCO files, checkpoints, a FIFO, junk files) shared by the
/// bad-input cases; every case runs against it and must leave every input byte for byte as it was.
/// </summary>
public sealed class BadInputWorld : IDisposable
{
    public BadInputWorld()
    {
        Root = Directory.CreateTempSubdirectory("pixelbox-bad-input-").FullName;
        Inputs = Directory.CreateDirectory(Path.Combine(Root, "in")).FullName;
        Data = Path.Combine(Inputs, "shapes");
        ShapesDataset.Generate(Data, 4, 40, seed: 3, valFraction: 0.5);
        Gt = Directory.CreateDirectory(Path.Combine(Inputs, "gt")).FullName;
        Pred = Directory.CreateDirectory(Path.Combine(Inputs, "pred")).FullName;
        IndexMaskPng.Write(Path.Combine(Gt, "a.png"), new IndexMask(3, 2, [0, 0, 1, 1, 2, 255]));
        IndexMaskPng.Write(Path.Combine(Pred, "a.png"), new IndexMask(3, 2, [0, 1, 1, 1, 2, 0]));
        Images = Directory.CreateDirectory(Path.Combine(Inputs, "images")).FullName;
        RgbImageFile.WritePng(Path.Combine(Images, "b.png"), new RgbImage(8, 8, new byte[8 * 8 * 3]));
        RgbImageFile.WritePng(Path.Combine(Images, "b_overlay.png"), new RgbImage(8, 8, new byte[8 * 8 * 3]));
        Image = Path.Combine(Images, "b.png");
        CocoGt = Write("gt.json", """
            {"images": [{"id": 1, "width": 10, "height": 10}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "area": 16, "iscrowd": 0}],
             "categories": [{"id": 1, "name": "thing"}]}
            """);
        CocoDt = Write("dt.json", """[{"image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4], "score": 0.9}]""");
        Checkpoint = WriteCheckpoint("rgb.ckpt", 3);
        GreyCheckpoint = WriteCheckpoint("grey.ckpt", 1);
        Empty = Write("empty.bin", "");
        Garbage = Write("garbage.bin", "this is not what you think it is\n\0\x01\x02");
        HugePng = Path.Combine(Inputs, "huge.png");
        File.WriteAllBytes(HugePng, PngClaiming(100_000, 100_000));
        EmptyFolder = Directory.CreateDirectory(Path.Combine(Inputs, "empty-folder")).FullName;
        if (!OperatingSystem.IsWindows())
        {
            Fifo = Path.Combine(Root, "fifo");
            Process.Start("mkfifo", Fifo).WaitForExit();
        }
        AFile = Write("afile.txt", "keep me");
        Out = Directory.CreateDirectory(Path.Combine(Root, "out")).FullName;
    }

    public string Root { get; }
    public string Inputs { get; }
    public string Data { get; }
    public string Gt { get; }
    public string Pred { get; }
    public string Images { get; }
    public string Image { get; }
    public string CocoGt { get; }
    public string CocoDt { get; }
    public string Checkpoint { get; }
    public string GreyCheckpoint { get; }
    public string Empty { get; }
    public string Garbage { get; }
    public string HugePng { get; }
    public string EmptyFolder { get; }
    public string? Fifo { get; }
    public string AFile { get; }
    /// <summary>A folder for outputs that must not appear.</summary>
    public string Out { get; }

    /// <summary>SHA-256 of every file under the inputs folder, by relative path.</summary>
    public Dictionary<string, string> HashInputs() =>
        Directory.EnumerateFiles(Inputs, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(Inputs, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }

    string Write(string name, string text)
    {
        var path = Path.Combine(Inputs, name);
        File.WriteAllText(path, text);
        return path;
    }

    string WriteCheckpoint(string name, int channels)
    {
        var info = new SegmentationModelInfo("unet-same", 2, channels, ["bg", "fg"], Normalization.ImageNet, 255, new ModelSize(4, 2));
        var path = Path.Combine(Inputs, name);
        using var model = info.CreateModel();
        PixelBox.Training.Checkpoint.Write(path, new JsonObject { ["model"] = info.ToJson() }, model, null);
        return path;
    }

    /// <summary>A PNG signature and an IHDR chunk (with a correct CRC) claiming a huge image, and nothing else.</summary>
    static byte[] PngClaiming(int width, int height)
    {
        var ihdr = new byte[17];
        "IHDR"u8.CopyTo(ihdr);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(8), height);
        ihdr[12] = 8; // bit depth
        ihdr[13] = 2; // RGB
        var png = new List<byte> { 137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13 };
        png.AddRange(ihdr);
        uint crc = Crc32(ihdr);
        png.AddRange([(byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc]);
        return [.. png];
    }

    static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}

/// <summary>
/// Bad input, command by command: option values out of range or nonsense, missing/folder/FIFO/empty/garbage/
/// huge-header inputs, outputs at folders, under files, at devices, at inputs or at each other. Each case must
/// exit 2 with ONE line on stderr, "error: " + the file or option named + the problem, no stack trace, write
/// nothing to stdout's place of outputs, and leave every input file unchanged.
/// </summary>
[Collection(CliRunner.Collection)]
public sealed class BadInputTests(BadInputWorld world) : IClassFixture<BadInputWorld>
{
    /// <summary>One case: arguments with {placeholders}, and what the one error line must start with and contain.</summary>
    public sealed record Case(string Name, string[] Args, string Names, string Problem)
    {
        public override string ToString() => Name;
    }

    /// <summary>Whether the input-file hardening (regular files only, FIFOs refused without blocking) is in this build;
    /// until it is, reading a FIFO given as an input blocks forever, so those cases are left out.</summary>
    static readonly bool InputsRefuseFifos = Type.GetType("PixelBox.InputFile, PixelBox.Coco") is not null;

    public static TheoryData<Case> Cases()
    {
        var data = new TheoryData<Case>();
        foreach (var c in AllCases())
            data.Add(c);
        return data;
    }

    static IEnumerable<Case> AllCases() => OptionValueCases().Concat(InputCases()).Concat(OutputCases());

    static readonly string[] EvalSeg = ["eval", "seg", "--gt", "{gt}", "--pred", "{pred}", "--num-classes", "3"];
    static readonly string[] EvalCoco = ["eval", "coco", "--gt", "{cocogt}", "--dt", "{cocodt}"];
    static readonly string[] Predict = ["predict", "seg", "--model", "{ckpt}", "--input", "{images}", "--out", "{out}/p", "--threads", "1"];
    static readonly string[] Train = ["train", "seg", "--data", "{data}", "--model", "unet-same", "--out", "{out}/run", "--epochs", "1", "--threads", "1"];
    static readonly string[] Shapes = ["data", "shapes", "--out", "{out}/shapes", "--count", "2", "--size", "32"];
    static readonly string[] Demo = ["demo", "--quick", "--out", "{out}/demo", "--threads", "1"];
    static readonly string[] Models = ["models"];

    /// <summary>Every numeric or choice option of every command, with values below, above and outside its type.</summary>
    static IEnumerable<Case> OptionValueCases()
    {
        var rules = new (string Command, string[] Base, string Option, string[] Values, string Problem)[]
        {
            ("train", Train, "--epochs", ["0", "-5", "1000001"], "must be between 1 and 1000000"),
            ("train", Train, "--iterations", ["0", "-5", "1000000000001"], "must be between 1 and 1000000000000"),
            ("train", Train, "--batch-size", ["0", "-1", "4097"], "must be between 1 and 4096"),
            ("train", Train, "--lr", ["0", "-1", "-1e-3", "11", "1e999", "NaN"], "must be greater than 0 and at most 10"),
            ("train", Train, "--momentum", ["-0.1", "1", "2"], "must be between 0 and 0.9999"),
            ("train", Train, "--weight-decay", ["-1", "1.5"], "must be between 0 and 1"),
            ("train", Train, "--poly-power", ["0", "-2", "101"], "must be greater than 0 and at most 100"),
            ("train", Train, "--min-lr", ["-1", "11"], "must be between 0 and 10"),
            ("train", Train, "--warmup", ["-1", "1000000001"], "must be between 0 and 1000000000"),
            ("train", Train, "--crop", ["-5", "-1", "4097", "100000"], "must be between 0 and 4096"),
            ("train", Train, "--min-scale", ["0", "-1", "11"], "must be greater than 0 and at most 10"),
            ("train", Train, "--max-scale", ["0", "-0.5", "10.5"], "must be greater than 0 and at most 10"),
            ("train", Train, "--workers", ["0", "-2", "257"], "must be between 1 and 256"),
            ("train", Train, "--threads", ["0", "-1", "1025"], "must be between 1 and 1024"),
            ("train", Train, "--width", ["0", "-8", "2049", "100000", "2147483647"], "must be between 1 and 2048"),
            ("train", Train, "--depth", ["0", "1", "11", "20"], "must be between 2 and 10"),
            ("train", Train, "--optimizer", ["adam", "3", "0", "rmsprop"], "is not one of sgd, adamw"),
            ("train", Train, "--schedule", ["linear", "1", "step"], "is not one of constant, poly, cosine"),
            ("train", Train, "--loss", ["hinge", "CE+", "focal2"], "is not one of ce, focal, dice, lovasz, ce+dice"),
            ("train", Train, "--model", ["resnet", "UNET", "unet-same2"], "is not one of unet, unet-same, fcn32s, fcn16s, fcn8s"),
            ("predict", Predict, "--threads", ["0", "-3", "1025", "100000"], "must be between 1 and 1024"),
            ("demo", Demo, "--threads", ["0", "-1", "5000"], "must be between 1 and 1024"),
            ("eval seg", EvalSeg, "--num-classes", ["0", "-1", "257", "2147483647"], "must be between 1 and 256"),
            ("eval seg", EvalSeg, "--ignore-index", ["300", "256", "-2", "-1000"], "must be between -1 and 255"),
            ("eval coco", EvalCoco, "--iou-type", ["box", "BBOX", "keypoints"], "is not one of bbox, segm"),
            ("data shapes", Shapes, "--count", ["0", "-5", "10000001"], "must be between 1 and 10000000"),
            ("data shapes", Shapes, "--size", ["0", "-1", "8193", "100000"], "must be between"),
            ("models", Models, "--num-classes", ["0", "-1", "100001", "2147483647"], "must be between 1 and 100000"),
            ("models", Models, "--in-channels", ["0", "1025"], "must be between 1 and 1024"),
        };
        foreach (var (command, args, option, values, problem) in rules)
            foreach (var value in values)
                yield return new($"{command} {option} {value}", With(args, option, value), option, problem);

        var notNumbers = new (string Command, string[] Base, string Option, string Kind)[]
        {
            ("train", Train, "--epochs", "a whole number"), ("train", Train, "--iterations", "a whole number"),
            ("train", Train, "--batch-size", "a whole number"), ("train", Train, "--crop", "a whole number"),
            ("train", Train, "--width", "a whole number"), ("train", Train, "--depth", "a whole number"),
            ("train", Train, "--warmup", "a whole number"), ("train", Train, "--workers", "a whole number"),
            ("train", Train, "--seed", "a whole number"), ("train", Train, "--threads", "a whole number"),
            ("train", Train, "--lr", "a number"), ("train", Train, "--momentum", "a number"), ("train", Train, "--min-scale", "a number"),
            ("eval seg", EvalSeg, "--num-classes", "a whole number"), ("eval seg", EvalSeg, "--ignore-index", "a whole number"),
            ("data shapes", Shapes, "--count", "a whole number"), ("data shapes", Shapes, "--size", "a whole number"),
            ("data shapes", Shapes, "--seed", "a whole number"), ("models", Models, "--num-classes", "a whole number"),
            ("predict", Predict, "--threads", "a whole number"), ("demo", Demo, "--threads", "a whole number"),
        };
        foreach (var (command, args, option, kind) in notNumbers)
            foreach (var value in new[] { "x", "1.5.2", "ten" })
                yield return new($"{command} {option} {value}", With(args, option, value), option, $"'{value}' is not {kind}");

        // Values that parse but contradict other options or the data.
        yield return new("train --min-lr above --lr", [.. Train, "--lr", "0.01", "--min-lr", "0.1"], "--min-lr", "0.1 is larger than --lr 0.01");
        yield return new("train scales out of order", [.. Train, "--crop", "32", "--min-scale", "3", "--max-scale", "2"], "--min-scale", "3 is larger than --max-scale 2");
        yield return new("train epochs and iterations", [.. Train, "--iterations", "5"], "--iterations", "give the run length once");
        yield return new("option given twice", [.. Train, "--epochs", "3"], "--epochs", "expects a single argument but 2 were provided");
        yield return new("train width too big for depth", [.. Train, "--width", "1024", "--depth", "4"], "--depth", "at most 4096");
        yield return new("train depth too deep for default width", [.. Train, "--depth", "9"], "--depth", "width 32 and depth 9");
        yield return new("train size options on fcn", ["train", "seg", "--data", "{data}", "--model", "fcn8s", "--out", "{out}/run", "--width", "8"], "--width", "only unet-same takes a width and depth");
        yield return new("train class weights count", [.. Train, "--class-weights", "1,2"], "--class-weights", "2 weights for the 5 classes");
        yield return new("train class weights all zero", [.. Train, "--class-weights", "0,0,0,0,0"], "--class-weights", "all weights are 0");
        yield return new("train class weights negative", [.. Train, "--class-weights", "1,-1,1,1,1"], "--class-weights", "'-1' is not a non-negative number");
        yield return new("train class weights junk", [.. Train, "--class-weights", "1,x"], "--class-weights", "'x' is not a non-negative number");
        yield return new("train crop size the model cannot take", [.. Train, "--crop", "20"], "--crop", "20 does not fit unet-same");
        yield return new("train crop size odd for depth 3", [.. Train, "--crop", "30", "--width", "8", "--depth", "3"], "--crop", "30 does not fit unet-same");
        yield return new("train whole images the model cannot take", Train, "{data}/images/0000", "40x40 does not fit unet-same");
        yield return new("train whole images too small for the valid U-Net",
            ["train", "seg", "--data", "{data}", "--model", "unet", "--out", "{out}/run"], "{data}/images/0000", "40x40 does not fit unet");
        yield return new("train no data", ["train", "seg", "--model", "unet-same", "--out", "{out}/run"], "--data", "required");
        yield return new("train no model", ["train", "seg", "--data", "{data}", "--out", "{out}/run"], "--model", "required");
        yield return new("train no out", ["train", "seg", "--data", "{data}", "--model", "unet-same"], "--out", "required");
        yield return new("resume nothing", ["train", "seg", "--out", "{out}/none", "--resume"], "{out}/none/last.ckpt", "");
        yield return new("eval seg ignore index is a class", [.. EvalSeg, "--ignore-index", "1"], "--ignore-index", "1 is a class index");
        yield return new("eval seg names count", [.. EvalSeg, "--names", "a,b"], "--names", "2 names for 3 classes");
        yield return new("eval seg labels beyond classes", ["eval", "seg", "--gt", "{gt}", "--pred", "{pred}", "--num-classes", "2"], "{gt}/a.png", "label 2");
        yield return new("eval seg no num-classes", ["eval", "seg", "--gt", "{gt}", "--pred", "{pred}"], "--num-classes", "required");
        yield return new("eval coco max-dets zero", [.. EvalCoco, "--max-dets", "0,10"], "--max-dets", "'0' in '0,10' is not a whole number from 1");
        yield return new("eval coco max-dets junk", [.. EvalCoco, "--max-dets", "1,x"], "--max-dets", "'x' in '1,x'");
        yield return new("eval coco max-dets empty", [.. EvalCoco, "--max-dets", ""], "--max-dets", "");
        yield return new("eval coco max-dets twice", [.. EvalCoco, "--max-dets", "10,10"], "--max-dets", "10 is given twice");
        yield return new("eval coco max-dets huge", [.. EvalCoco, "--max-dets", "2147483647"], "--max-dets", "is not a whole number from 1 to 1,000,000");
        yield return new("train --epochs beyond int", With(Train, "--epochs", "2147483648"), "--epochs", "'2147483648' is not a whole number");
        yield return new("eval coco max-dets many", [.. EvalCoco, "--max-dets", string.Join(',', Enumerable.Range(1, 17))], "--max-dets", "17 values; at most 16");
    }

    /// <summary>The base arguments with <paramref name="option"/> set to <paramref name="value"/> (replaced if present).</summary>
    static string[] With(string[] args, string option, string value)
    {
        int at = Array.IndexOf(args, option);
        if (at < 0)
            return [.. args, option, value];
        var copy = (string[])args.Clone();
        copy[at + 1] = value;
        return copy;
    }

    /// <summary>Inputs that are missing, folders, FIFOs, empty, garbage, or claim a huge size.</summary>
    static IEnumerable<Case> InputCases()
    {
        (string Placeholder, string Label)[] badFiles =
        [
            ("{missing}", "missing"), ("{emptyfolder}", "folder"), ("{empty}", "empty"), ("{garbage}", "garbage"), ("{afile}", "text"),
        ];
        foreach (var (file, label) in badFiles)
        {
            yield return new($"eval coco --gt {label}", ["eval", "coco", "--gt", file, "--dt", "{cocodt}"], file, "");
            yield return new($"eval coco --dt {label}", ["eval", "coco", "--gt", "{cocogt}", "--dt", file], file, "");
            yield return new($"predict --model {label}", ["predict", "seg", "--model", file, "--input", "{image}", "--out", "{out}/p"], file, "");
        }
        foreach (var (file, label) in new[] { ("{missing}", "missing"), ("{empty}", "empty"), ("{garbage}", "garbage"), ("{huge}", "huge header") })
            yield return new($"predict --input {label}", ["predict", "seg", "--model", "{ckpt}", "--input", file, "--out", "{out}/p"], file, "");
        yield return new("predict --input empty folder", ["predict", "seg", "--model", "{ckpt}", "--input", "{emptyfolder}", "--out", "{out}/p"], "{emptyfolder}", "folder holds no images");
        yield return new("predict --model not RGB", ["predict", "seg", "--model", "{greyckpt}", "--input", "{image}", "--out", "{out}/p"], "{greyckpt}", "takes 1 input channels; predicting from RGB images needs 3");
        yield return new("predict --model a COCO file", ["predict", "seg", "--model", "{cocogt}", "--input", "{image}", "--out", "{out}/p"], "{cocogt}", "");
        foreach (var (folder, label) in new[] { ("{missing}", "missing"), ("{afile}", "a file"), ("{emptyfolder}", "empty") })
        {
            yield return new($"eval seg --gt {label}", ["eval", "seg", "--gt", folder, "--pred", "{pred}", "--num-classes", "3"], folder, "");
            yield return new($"eval seg --pred {label}", ["eval", "seg", "--gt", "{gt}", "--pred", folder, "--num-classes", "3"], folder, "");
            yield return new($"train --data {label}", ["train", "seg", "--data", folder, "--model", "unet-same", "--out", "{out}/run"], folder, "");
        }
        yield return new("eval seg --gt a file named", ["eval", "seg", "--gt", "{afile}", "--pred", "{pred}", "--num-classes", "3"], "{afile}", "is a regular file; give a folder of PNG masks");
        yield return new("eval seg --pred holds other masks", ["eval", "seg", "--gt", "{gt}", "--pred", "{images}", "--num-classes", "3"], "{images}/a.png", "missing prediction for ground-truth mask {gt}/a.png");
        if (InputsRefuseFifos)
        {
            yield return new("eval coco --gt fifo", ["eval", "coco", "--gt", "{fifo}", "--dt", "{cocodt}"], "{fifo}", "");
            yield return new("eval coco --dt fifo", ["eval", "coco", "--gt", "{cocogt}", "--dt", "{fifo}"], "{fifo}", "");
            yield return new("predict --model fifo", ["predict", "seg", "--model", "{fifo}", "--input", "{image}", "--out", "{out}/p"], "{fifo}", "");
            yield return new("predict --input fifo", ["predict", "seg", "--model", "{ckpt}", "--input", "{fifo}", "--out", "{out}/p"], "{fifo}", "");
        }
        yield return new("eval seg --gt fifo", ["eval", "seg", "--gt", "{fifo}", "--pred", "{pred}", "--num-classes", "3"], "{fifo}", "is a FIFO (named pipe); give a folder of PNG masks");
    }

    /// <summary>Outputs at folders, under files, at FIFOs and devices, at inputs, at each other.</summary>
    static IEnumerable<Case> OutputCases()
    {
        var fileOutputs = new (string Command, string[] Base, string Option)[]
        {
            ("eval seg", EvalSeg, "--json"), ("eval seg", EvalSeg, "--plot"), ("eval coco", EvalCoco, "--json"),
        };
        foreach (var (command, args, option) in fileOutputs)
        {
            yield return new($"{command} {option} at a folder", [.. args, option, "{out}"], "{out}", "is a folder; give a file name");
            yield return new($"{command} {option} under a file", [.. args, option, "{afile}/x"], "{afile}/x", "cannot be created: {afile} is a regular file, not a folder");
            yield return new($"{command} {option} deep under a file", [.. args, option, "{afile}/a/b/c"], "{afile}/a/b/c", "cannot be created: {afile} is a regular file");
            yield return new($"{command} {option} ends in a separator", [.. args, option, "{out}/new/"], "{out}/new/", "names a folder; give a file name");
            yield return new($"{command} {option} at a FIFO", [.. args, option, "{fifo}"], "{fifo}", "is a FIFO (named pipe); outputs replace regular files only");
            yield return new($"{command} {option} at a device", [.. args, option, "/dev/null"], "/dev/null", "is a character device; outputs replace regular files only");
        }
        yield return new("eval seg --json at a ground-truth mask", [.. EvalSeg, "--json", "{gt}/a.png"], "{gt}/a.png", "--json would overwrite the ground-truth mask {gt}/a.png");
        yield return new("eval seg --plot at a predicted mask", [.. EvalSeg, "--plot", "{pred}/a.png"], "{pred}/a.png", "--plot would overwrite the predicted mask {pred}/a.png");
        yield return new("eval seg --plot at a mask through ..", [.. EvalSeg, "--plot", "{pred}/../pred/a.png"], "{pred}/../pred/a.png", "--plot would overwrite the predicted mask");
        yield return new("eval seg --json and --plot the same file", [.. EvalSeg, "--json", "{out}/x", "--plot", "{out}/x"], "{out}/x", "would be written twice, as --json");
        yield return new("eval coco --json at --gt", [.. EvalCoco, "--json", "{cocogt}"], "{cocogt}", "--json would overwrite the ground truth (--gt) {cocogt}");
        yield return new("eval coco --json at --dt", [.. EvalCoco, "--json", "{cocodt}"], "{cocodt}", "--json would overwrite the results (--dt) {cocodt}");
        yield return new("eval coco --plots at a file", [.. EvalCoco, "--plots", "{afile}"], "{afile}", "is a regular file, not a folder");
        yield return new("eval coco --plots under a file", [.. EvalCoco, "--plots", "{afile}/plots"], "{afile}/plots", "cannot be created: {afile} is a regular file");
        yield return new("predict --out is the input folder", ["predict", "seg", "--model", "{ckpt}", "--input", "{images}", "--out", "{images}"], "{images}", "--out is the input folder");
        yield return new("predict --out is the input folder spelled differently", ["predict", "seg", "--model", "{ckpt}", "--input", "{images}", "--out", "{images}/../images/"], "{images}/../images/", "--out is the input folder");
        yield return new("predict overlay of b.png is the mask of b_overlay.png", Predict, "{out}/p/b_overlay.png", "would be written twice, as the overlay of {images}/b.png");
        yield return new("predict one image into its own folder", ["predict", "seg", "--model", "{ckpt}", "--input", "{image}", "--out", "{images}"], "{image}", "the mask of {image} would overwrite the input image {image}");
        yield return new("predict --out at a file", ["predict", "seg", "--model", "{ckpt}", "--input", "{image}", "--out", "{afile}"], "{afile}", "is a regular file, not a folder");
        yield return new("predict --out under a file", ["predict", "seg", "--model", "{ckpt}", "--input", "{image}", "--out", "{afile}/p"], "{afile}/p", "cannot be created: {afile} is a regular file");
        yield return new("predict --out at a FIFO", ["predict", "seg", "--model", "{ckpt}", "--input", "{image}", "--out", "{fifo}"], "{fifo}", "is a FIFO (named pipe), not a folder");
        yield return new("train --out under a file", ["train", "seg", "--data", "{data}", "--model", "unet-same", "--out", "{afile}/run", "--crop", "32"], "{afile}/run", "cannot be created: {afile} is a regular file");
        yield return new("train --out in the dataset's images", ["train", "seg", "--data", "{data}", "--model", "unet-same", "--out", "{data}/images/run"], "{data}/images/run", "--out is in the dataset's images/ folder");
        yield return new("train --out is the dataset's masks", ["train", "seg", "--data", "{data}", "--model", "unet-same", "--out", "{data}/masks"], "{data}/masks", "--out is in the dataset's masks/ folder");
        yield return new("data shapes --out at a file", ["data", "shapes", "--out", "{afile}", "--count", "2", "--size", "32"], "{afile}", "is a regular file; expected a new or empty folder");
        yield return new("data shapes --out not empty", ["data", "shapes", "--out", "{data}", "--count", "2", "--size", "32"], "{data}", "already exists and is not empty");
        yield return new("data shapes --out under a file", ["data", "shapes", "--out", "{afile}/d", "--count", "2", "--size", "32"], "{afile}", "is a regular file, not a folder");
        yield return new("demo --out under a file", ["demo", "--quick", "--out", "{afile}/demo", "--threads", "1"], "{afile}/demo", "cannot be created: {afile} is a regular file");
        yield return new("demo --out at a file", ["demo", "--quick", "--out", "{afile}", "--threads", "1"], "{afile}", "is a regular file, not a folder");
    }

    string Expand(string text) => text
        .Replace("{gt}", world.Gt).Replace("{pred}", world.Pred).Replace("{data}", world.Data)
        .Replace("{images}", world.Images).Replace("{image}", world.Image)
        .Replace("{cocogt}", world.CocoGt).Replace("{cocodt}", world.CocoDt)
        .Replace("{greyckpt}", world.GreyCheckpoint).Replace("{ckpt}", world.Checkpoint)
        .Replace("{emptyfolder}", world.EmptyFolder).Replace("{empty}", world.Empty).Replace("{garbage}", world.Garbage)
        .Replace("{huge}", world.HugePng).Replace("{fifo}", world.Fifo ?? "/nonexistent-fifo").Replace("{afile}", world.AFile)
        .Replace("{missing}", Path.Combine(world.Root, "no-such-file")).Replace("{out}", world.Out);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Is_one_error_line_naming_the_file_or_option_and_changes_no_input(Case c)
    {
        if (OperatingSystem.IsWindows() && string.Join(' ', c.Args).Contains("{fifo}"))
            return;
        var before = world.HashInputs();
        var outBefore = Directory.GetFileSystemEntries(world.Out, "*", SearchOption.AllDirectories);

        var (code, stdout, stderr) = CliRunner.Run([.. c.Args.Select(Expand)]);

        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(code == 2 && lines.Length == 1, $"{c.Name}: exit {code}, stderr:\n{stderr}\nstdout:\n{stdout}");
        var line = lines[0].TrimEnd('\r');
        Assert.StartsWith($"error: {Expand(c.Names)}", line);
        Assert.Contains(Expand(c.Problem), line);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", line);
        Assert.Equal(before, world.HashInputs());
        Assert.Equal(outBefore, Directory.GetFileSystemEntries(world.Out, "*", SearchOption.AllDirectories));
        Assert.Equal("keep me", File.ReadAllText(world.AFile));
    }

    [Fact]
    public void The_cases_cover_every_command_and_are_many()
    {
        var cases = AllCases().ToList();
        Assert.True(cases.Count >= 250, $"{cases.Count} cases");
        foreach (var command in new[] { "train seg", "predict seg", "eval seg", "eval coco", "data shapes", "demo", "models" })
            Assert.Contains(cases, c => string.Join(' ', c.Args).StartsWith(command, StringComparison.Ordinal));
        Assert.Equal(cases.Count, cases.Select(c => c.Name).Distinct().Count());
    }
}
