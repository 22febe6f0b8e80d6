using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Masks;

namespace PixelBox.Tests.Cli;

/// <summary>Runs <c>pixelbox eval seg</c> in-process on masks written to a temp folder. Console output is redirected,
/// so these tests share the "Console" collection (never run in parallel with other console-capturing tests).</summary>
[Collection(CliRunner.Collection)]
public sealed class EvalSegCommandTests : IDisposable
{
    readonly DirectoryInfo root = Directory.CreateTempSubdirectory("pbx-evalseg-");
    string Gt => Path.Combine(root.FullName, "gt");
    string Pred => Path.Combine(root.FullName, "pred");

    public void Dispose() => root.Delete(recursive: true);

    void WriteMask(string dir, string name, int width, byte[] pixels) =>
        IndexMaskPng.Write(Path.Combine(dir, name), new IndexMask(width, pixels.Length / width, pixels));

    /// <summary>
    /// Two images, classes 0..3 with 255 = ignore; class 3 appears nowhere.
    /// a.png (3x2): GT 0 0 1 / 1 2 255, pred 0 1 1 / 1 2 0  -> (0,0) (0,1) (1,1) (1,1) (2,2), one ignored
    /// b.png (2x2): GT 2 2 / 0 0,      pred 2 0 / 0 0      -> (2,2) (2,0) (0,0) (0,0)
    /// Matrix (rows GT): [3 1 0 0; 0 2 0 0; 1 0 2 0; 0 0 0 0], 9 counted pixels, 1 ignored.
    /// </summary>
    void WriteExample()
    {
        Directory.CreateDirectory(Gt);
        Directory.CreateDirectory(Pred);
        WriteMask(Gt, "a.png", 3, [0, 0, 1, 1, 2, 255]);
        WriteMask(Pred, "a.png", 3, [0, 1, 1, 1, 2, 0]);
        WriteMask(Gt, "b.png", 2, [2, 2, 0, 0]);
        WriteMask(Pred, "b.png", 2, [2, 0, 0, 0]);
    }


    string[] EvalArgs(params string[] extra) =>
        ["eval", "seg", "--gt", Gt, "--pred", Pred, "--num-classes", "4", .. extra];

    [Fact]
    public void WritesMetricsJsonTableAndPlot()
    {
        WriteExample();
        var json = Path.Combine(root.FullName, "out", "metrics.json");
        var png = Path.Combine(root.FullName, "out", "cm.png");
        var (code, stdout, stderr) = CliRunner.Run(EvalArgs("--names", "road,car,person,bike", "--json", json, "--plot", png));
        Assert.True(code == 0, stderr);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var r = doc.RootElement;
        Assert.Equal(2, r.GetProperty("images").GetInt32());
        Assert.Equal(9, r.GetProperty("pixels").GetInt64());
        Assert.Equal(1, r.GetProperty("ignored_pixels").GetInt64());
        Assert.Equal(255, r.GetProperty("ignore_index").GetInt32());
        var matrix = r.GetProperty("confusion_matrix").EnumerateArray()
            .Select(row => row.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        Assert.Equal([[3, 1, 0, 0], [0, 2, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]], matrix);

        // Hand-computed: TP 3 2 2; GT 4 2 3; pred 4 3 2.
        Assert.Equal(7 / 9.0, r.GetProperty("pixel_accuracy").GetDouble(), 1e-12);
        Assert.Equal((3 / 4.0 + 1 + 2 / 3.0) / 3, r.GetProperty("mean_accuracy").GetDouble(), 1e-12);
        double[] iou = [3 / 5.0, 2 / 3.0, 2 / 3.0];
        Assert.Equal(iou.Average(), r.GetProperty("mean_iou").GetDouble(), 1e-12);
        Assert.Equal(4 / 9.0 * iou[0] + 2 / 9.0 * iou[1] + 3 / 9.0 * iou[2], r.GetProperty("frequency_weighted_iou").GetDouble(), 1e-12);
        Assert.Equal([3], r.GetProperty("classes_excluded_from_mean_iou").EnumerateArray().Select(v => v.GetInt32()));

        var perClass = r.GetProperty("per_class").EnumerateArray().ToArray();
        Assert.Equal(4, perClass.Length);
        Assert.Equal("car", perClass[1].GetProperty("name").GetString());
        Assert.Equal(iou[1], perClass[1].GetProperty("iou").GetDouble(), 1e-12);
        Assert.Equal(2 * 2 / 5.0, perClass[1].GetProperty("dice").GetDouble(), 1e-12);
        Assert.Equal(2, perClass[1].GetProperty("gt_pixels").GetInt64());
        Assert.Equal(3, perClass[1].GetProperty("pred_pixels").GetInt64());
        Assert.Equal(JsonValueKind.Null, perClass[3].GetProperty("iou").ValueKind);
        Assert.Equal(JsonValueKind.Null, perClass[3].GetProperty("accuracy").ValueKind);

        Assert.Contains("mIoU", stdout);
        Assert.Contains("left out of mIoU", stdout);
        Assert.Contains("3 (bike)", stdout);

        var plot = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 137, 80, 78, 71 }, plot[..4]);
        Assert.True(plot.Length > 10_000);
        Assert.Equal(["cm.png", "metrics.json"], Directory.GetFiles(Path.GetDirectoryName(json)!).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void MissingPredictionIsAnErrorNamingTheFile()
    {
        WriteExample();
        WriteMask(Gt, "c.png", 2, [0, 0]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Pred, "c.png"));
        Assert.Contains("missing prediction", stderr);
    }

    [Fact]
    public void PredictionWithoutGroundTruthIsAnErrorNamingTheFile()
    {
        WriteExample();
        WriteMask(Pred, "extra.png", 2, [0, 0]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Pred, "extra.png"));
    }

    [Fact]
    public void SizeMismatchIsAnErrorNamingTheFile()
    {
        WriteExample();
        WriteMask(Pred, "b.png", 4, [2, 0, 0, 0]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Pred, "b.png"));
        Assert.Contains("size 4x1 differs from the ground truth's 2x2", stderr);
    }

    [Fact]
    public void LabelOutOfRangeIsAnErrorNamingTheFileAndPixel()
    {
        WriteExample();
        WriteMask(Gt, "b.png", 2, [2, 2, 0, 7]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Gt, "b.png"));
        Assert.Contains("label 7 at (x=1, y=1) outside [0, 4) and not the ignore index 255", stderr);

        WriteMask(Gt, "b.png", 2, [2, 2, 0, 0]);
        WriteMask(Pred, "a.png", 3, [0, 1, 1, 1, 2, 9]);
        (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Pred, "a.png"));
        Assert.Contains("label 9 at (x=2, y=1) outside [0, 4)", stderr);
    }

    [Fact]
    public void WithSeveralBadFilesTheFirstInNameOrderIsReported()
    {
        WriteExample();
        for (int i = 0; i < 12; i++)
        {
            WriteMask(Gt, $"z{i:D2}.png", 2, [0, 1, 2, 3]);
            WriteMask(Pred, $"z{i:D2}.png", 2, [0, 1, 2, i < 6 ? (byte)0 : (byte)200]);
        }
        File.WriteAllBytes(Path.Combine(Gt, "b.png"), [9, 9, 9]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Gt, "b.png"));
    }

    [Fact]
    public void CorruptPngIsAnErrorNamingTheFile()
    {
        WriteExample();
        File.WriteAllBytes(Path.Combine(Pred, "a.png"), [1, 2, 3, 4, 5]);
        var (code, _, stderr) = CliRunner.Run(EvalArgs());
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(Pred, "a.png"));
    }

    [Fact]
    public void BadOptionsAreOneLineErrors()
    {
        WriteExample();
        var (code, _, stderr) = CliRunner.Run(EvalArgs("--names", "a,b"));
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, "--names");
        (code, _, stderr) = CliRunner.Run(EvalArgs("--ignore-index", "2"));
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, "--ignore-index");
        (code, _, stderr) = CliRunner.Run(["eval", "seg", "--gt", Path.Combine(root.FullName, "nope"), "--pred", Pred, "--num-classes", "4"]);
        Assert.Equal(2, code);
        AssertOneLineNaming(stderr, Path.Combine(root.FullName, "nope"));
    }

    static void AssertOneLineNaming(string stderr, string file)
    {
        var message = stderr.TrimEnd('\n', '\r');
        Assert.DoesNotContain('\n', message);
        Assert.StartsWith($"error: {file}: ", message);
    }
}
