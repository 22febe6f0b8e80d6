using System.Text.Json;
using PixelBox.Data;
using PixelBox.Tests.Cli;

namespace PixelBox.Tests.Data.Detection;

[Collection(CliRunner.Collection)]
public class DataCommandsTests
{
    /// <summary>A YOLO dataset with one of every problem data check reports.</summary>
    static string ProblemYolo(TempDir tmp)
    {
        var root = tmp.Combine("yolo");
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "data.yaml"), "train: images/train\nval: images/val\nnames: [cat, dog, bird]\n");
        DetectionTestData.Png(Path.Combine(root, "images", "train", "ok.png"), 20, 20, 1);
        DetectionTestData.Png(Path.Combine(root, "images", "train", "empty.png"), 20, 20, 2);
        DetectionTestData.Png(Path.Combine(root, "images", "val", "v.png"), 16, 8, 3);
        Directory.CreateDirectory(Path.Combine(root, "labels", "train"));
        Directory.CreateDirectory(Path.Combine(root, "labels", "val"));
        File.WriteAllText(Path.Combine(root, "labels", "train", "ok.txt"), "0 0.5 0.5 0.5 0.5\n0 0.95 0.5 0.3 0.2\n1 0.5 0.5 0 0.2\n");
        File.WriteAllText(Path.Combine(root, "labels", "train", "empty.txt"), "");
        File.WriteAllText(Path.Combine(root, "labels", "val", "v.txt"), "0 0.5 0.5 0.5 0.5\n");
        return root;
    }

    [Fact]
    public void CheckReportsCountsHistogramAndWarningsAndExitsZeroWhenUsable()
    {
        using var tmp = new TempDir();
        var root = ProblemYolo(tmp);
        var json = tmp.Combine("report.json");
        var (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", "yolo", "--json", json);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("3 images, 4 objects", stdout);
        Assert.Contains("warning: box_out_of_bounds: 1", stdout);
        Assert.Contains("warning: degenerate_box: 1", stdout);
        Assert.Contains("warning: empty_image: 1", stdout);
        Assert.Contains("warning: unused_class: 1", stdout);
        Assert.Contains("usable: no errors", stdout);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var r = doc.RootElement;
        Assert.Equal("yolo", r.GetProperty("format").GetString());
        Assert.True(r.GetProperty("usable").GetBoolean());
        Assert.Equal(3, r.GetProperty("images").GetInt32());
        Assert.Equal(4, r.GetProperty("objects").GetInt32());
        Assert.Equal(0, r.GetProperty("errors").GetInt32());
        Assert.Equal([3L, 1L, 0L], r.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("count").GetInt64()));
        Assert.Equal(["train", "val"], r.GetProperty("splits").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        var kinds = r.GetProperty("problems").EnumerateArray().ToDictionary(p => p.GetProperty("kind").GetString()!, p => p.GetProperty("count").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["box_out_of_bounds"] = 1, ["degenerate_box"] = 1, ["empty_image"] = 1, ["unused_class"] = 1 }, kinds);
    }

    [Fact]
    public void CheckFindsBrokenAndMissingImagesAndBadLinesAndExitsTwo()
    {
        using var tmp = new TempDir();
        var root = ProblemYolo(tmp);
        var ok = Path.Combine(root, "images", "train", "ok.png");
        var bytes = File.ReadAllBytes(ok);
        File.WriteAllBytes(ok, bytes[..(bytes.Length - 30)]); // truncated pixel data: the header still reads
        File.WriteAllText(Path.Combine(root, "labels", "val", "v.txt"), "7 0.5 0.5 0.5 0.5\n0 1 2\n");
        var json = tmp.Combine("report.json");
        var (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "yolo", "--json", json);
        Assert.Equal(2, code);
        Assert.Contains("error: broken_image: 1", stdout);
        Assert.Contains("error: malformed: 1", stdout);
        Assert.Contains("NOT usable", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.False(doc.RootElement.GetProperty("usable").GetBoolean());

        // headers only: the truncated file goes unnoticed, the bad label file does not
        var (code2, stdout2, _) = CliRunner.Run("data", "check", root, "--format", "yolo", "--headers-only");
        Assert.Equal(2, code2);
        Assert.DoesNotContain("broken_image", stdout2);
    }

    [Fact]
    public void CheckReportsDuplicateIdsAndSizeMismatchesInCoco()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("coco");
        DetectionTestData.Png(Path.Combine(root, "images", "a.png"), 10, 10, 1);
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png", "width": 12, "height": 10}], "annotations": [
              {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 0}],
             "categories": [{"id": 1, "name": "x"}]}
            """);
        var (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "coco");
        Assert.Equal(2, code);
        Assert.Contains("error: size_mismatch: 1", stdout);
        Assert.Contains("image is 10x10 but its annotation says 12x10", stdout);

        File.WriteAllText(Path.Combine(root, "instances.json"), """
            {"images": [{"id": 1, "file_name": "a.png"}, {"id": 1, "file_name": "a.png"}], "annotations": [], "categories": []}
            """);
        (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "coco");
        Assert.Equal(2, code);
        Assert.Contains("error: duplicate_id: 1", stdout);
    }

    [Fact]
    public void ConvertWritesAtomicallyAndNeverIntoTheInput()
    {
        using var tmp = new TempDir();
        var root = ProblemYolo(tmp);
        var inside = Path.Combine(root, "converted");
        var (code, _, stderr) = CliRunner.Run("data", "convert", "--from", "yolo", "--to", "coco", "--in", root, "--out", inside);
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {inside}: is the input folder or inside it", stderr);
        (code, _, stderr) = CliRunner.Run("data", "convert", "--from", "yolo", "--to", "coco", "--in", root, "--out", root);
        Assert.Equal(2, code);
        Assert.False(Directory.Exists(inside));

        var output = tmp.Combine("out");
        (code, var stdout, stderr) = CliRunner.Run("data", "convert", "--from", "yolo", "--to", "voc", "--in", root, "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("train: 2 images, 3 objects", stdout);
        Assert.True(File.Exists(Path.Combine(output, "Annotations", "ok.xml")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "images", "train", "ok.png")), File.ReadAllBytes(Path.Combine(output, "JPEGImages", "ok.png")));
        // the existing output is refused, and no staging folder is left anywhere
        (code, _, stderr) = CliRunner.Run("data", "convert", "--from", "yolo", "--to", "voc", "--in", root, "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("already exists and is not empty", stderr);
        Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp.Path), e => Path.GetFileName(e).StartsWith('.'));

        // a failed conversion leaves nothing behind
        File.WriteAllText(Path.Combine(root, "labels", "val", "v.txt"), "0 0.5\n");
        (code, _, stderr) = CliRunner.Run("data", "convert", "--from", "yolo", "--to", "coco", "--in", root, "--out", tmp.Combine("failed"), "--copy");
        Assert.Equal(2, code);
        Assert.StartsWith($"error: {Path.Combine(root, "labels", "val", "v.txt")}: line 1: 2 values", stderr);
        Assert.False(Directory.Exists(tmp.Combine("failed")));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp.Path), e => Path.GetFileName(e).StartsWith('.'));
    }

    [Fact]
    public void ConvertWarnsAboutWhatTheTargetCannotHold()
    {
        using var tmp = new TempDir();
        var original = DetectionTestData.Random(tmp.Combine("src"), 5, DetectionFormats.Voc.Carries);
        Directory.CreateDirectory(tmp.Combine("voc"));
        VocDetectionFormat.Write(original, tmp.Combine("voc"), ImageTransfer.Copy);
        int difficult = original.Splits.SelectMany(s => s.Images).SelectMany(i => i.Objects).Count(o => o.Difficult);
        Assert.True(difficult > 0);
        var (code, _, stderr) = CliRunner.Run("data", "convert", "--from", "voc", "--to", "yolo", "--in", tmp.Combine("voc"), "--out", tmp.Combine("yolo"));
        Assert.Equal(0, code);
        Assert.Contains($"warning: {tmp.Combine("voc")}: {difficult} object(s) marked difficult written as ordinary objects: yolo has no difficult flag", stderr);
    }

    [Fact]
    public void HardLinksByDefaultAndCopiesOnRequest()
    {
        using var tmp = new TempDir();
        var root = ProblemYolo(tmp);
        Assert.Equal(0, CliRunner.Run("data", "convert", "--from", "yolo", "--to", "coco", "--in", root, "--out", tmp.Combine("linked")).Code);
        Assert.Equal(0, CliRunner.Run("data", "convert", "--from", "yolo", "--to", "coco", "--in", root, "--out", tmp.Combine("copied"), "--copy").Code);
        var source = Path.Combine(root, "images", "train", "ok.png");
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(Inode(source), Inode(tmp.Combine("linked", "images", "train", "ok.png")));
            Assert.NotEqual(Inode(source), Inode(tmp.Combine("copied", "images", "train", "ok.png")));
        }
        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(tmp.Combine("copied", "images", "train", "ok.png")));
    }

    static string Inode(string path)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return text;
    }
}
