using System.Text.Json.Nodes;
using PixelBox.Masks;
using PixelBox.Tests.Data;
using PixelBox.Tests.IO;
using PixelBox.Tests.Training;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

/// <summary>
/// Input files a user may get wrong, through the commands: one line `error: FILE: problem` and exit 2,
/// never a hang on a FIFO, never a silently wrong result.
/// </summary>
[Collection(CliRunner.Collection)]
public class InputFilesCommandTests
{
    static string Tiny(string file) => SharedFiles.Fixture("coco", "tiny", file);

    static void AssertOneLineError(string expected, (int Code, string Out, string Err) run)
    {
        Assert.Equal(2, run.Code);
        Assert.Equal(expected, Assert.Single(run.Err.TrimEnd().Split('\n')));
    }

    [Fact]
    public void Eval_coco_refuses_two_results_lists_instead_of_evaluating_the_first()
    {
        using var tmp = new TempDir();
        var dt = tmp.Combine("dt.json");
        var results = File.ReadAllText(Tiny("dt.json")).Trim();
        File.WriteAllText(dt, results + results);
        AssertOneLineError($"error: {dt}: unexpected data after the JSON value at line {results.Split('\n').Length}, column 2 (a COCO file holds one JSON value)",
            CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", dt));
    }

    [Fact]
    public void Eval_coco_refuses_a_fifo_and_a_gigabyte_of_zeros_at_once()
    {
        using var tmp = new TempDir();
        var fifo = SpecialFiles.Fifo(tmp.Combine("gt.json"));
        AssertOneLineError($"error: {fifo}: is a FIFO (named pipe), not a regular file",
            CliRunner.Run("eval", "coco", "--gt", fifo, "--dt", Tiny("dt.json")));
        var zeros = SpecialFiles.Sparse(tmp.Combine("zeros.json"), 1L << 30);
        AssertOneLineError($"error: {zeros}: results must be a JSON list of objects (the file starts with bytes 00000000)",
            CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", zeros));
    }

    [Fact]
    public void Eval_seg_refuses_a_fifo_in_the_mask_folder()
    {
        using var tmp = new TempDir();
        var gt = Directory.CreateDirectory(tmp.Combine("gt")).FullName;
        var pred = Directory.CreateDirectory(tmp.Combine("pred")).FullName;
        IndexMaskPng.Write(Path.Combine(gt, "a.png"), new IndexMask(2, 1, [0, 1]));
        var fifo = SpecialFiles.Fifo(Path.Combine(pred, "a.png"));
        AssertOneLineError($"error: {fifo}: is a FIFO (named pipe), not a regular file",
            CliRunner.Run("eval", "seg", "--gt", gt, "--pred", pred, "--num-classes", "2"));
    }

    [Fact]
    public void Predict_refuses_a_damaged_or_old_checkpoint_with_one_line()
    {
        var dir = TinyTask.TempDir();
        var path = Path.Combine(dir, "best.ckpt");
        Checkpoint.Write(path, new JsonObject { ["model"] = new JsonObject { ["name"] = "unet-same" } }, TinyTask.Model(1), null);
        var bytes = File.ReadAllBytes(path);
        bytes[60] ^= 1; // inside the header
        File.WriteAllBytes(path, bytes);
        var image = Path.Combine(dir, "x.png");
        PixelBox.Imaging.RgbImageFile.WritePng(image, new PixelBox.Imaging.RgbImage(2, 2, new byte[12]));
        AssertOneLineError($"error: {path}: corrupt checkpoint (checksum mismatch in the header)",
            CliRunner.Run("predict", "seg", "--model", path, "--input", image, "--out", Path.Combine(dir, "out")));
        File.WriteAllBytes(path, [.. "PIXELBOX-CKPT\n"u8, 2, 0, 0, 0, (byte)'{', (byte)'}']);
        AssertOneLineError($"error: {path}: checkpoint format 1 (written by an older PixelBox) is not supported: this build reads format 2; retrain, or load it with the PixelBox that wrote it",
            CliRunner.Run("predict", "seg", "--model", path, "--input", image, "--out", Path.Combine(dir, "out")));
    }
}
