using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Models.Detection.Yolo;
using PixelBox.Tests.Training;
using PixelBox.Training;
using System.Text.Json.Nodes;

namespace PixelBox.Tests.Cli;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(CliRunner.Collection)]
public class PredictDetCommandTests
{
    /// <summary>An untrained yolo checkpoint (3 classes, 64 px input; its prior scores ~0.05 give many detections).</summary>
    static string Checkpoint(string dir, long[]? categoryIds = null)
    {
        var info = new DetectionModelInfo("yolo", 3, 3, ["a", "b", "c"], categoryIds, YoloV8.DefaultSettings(64));
        using var model = info.CreateModel();
        var path = Path.Combine(dir, categoryIds is null ? "model.ckpt" : "mapped.ckpt");
        PixelBox.Training.Checkpoint.Write(path, new JsonObject { ["model"] = info.ToJson() }, model, null);
        return path;
    }

    static string Images(string dir, params (string Name, int Width, int Height)[] images)
    {
        var folder = Path.Combine(dir, "images");
        Directory.CreateDirectory(folder);
        var random = new Random(1);
        foreach (var (name, width, height) in images)
        {
            var pixels = new byte[width * height * 3];
            random.NextBytes(pixels);
            RgbImageFile.WritePng(Path.Combine(folder, name), new RgbImage(width, height, pixels));
        }
        return folder;
    }

    [Fact]
    public void WritesCocoResultsInFileNameOrderAndPicturesMappedToEachImage()
    {
        var dir = TinyTask.TempDir();
        var images = Images(dir, ("b.png", 50, 30), ("a.png", 20, 70));
        var output = Path.Combine(dir, "out");
        var (code, _, err) = CliRunner.Run("predict", "det", "--model", Checkpoint(dir), "--input", images, "--out", output,
            "--max-dets", "5", "--nms-iou", "1", "--threads", "1");
        Assert.True(code == 0, err);

        var results = CocoJson.ReadDetections(Path.Combine(output, "predictions.json"), CocoIouType.Bbox);
        Assert.Equal([1L, 2], results.ImageId.Distinct().Order());
        Assert.All(results.CategoryId, c => Assert.InRange(c, 0, 2));
        Assert.All(results.Score, s => Assert.InRange(s, 0.001, 1));
        Assert.Equal(5, results.ImageId.Count(id => id == 1));
        // image 1 is a.png (20 x 70), image 2 b.png (50 x 30): boxes inside their own image
        for (int i = 0; i < results.Count; i++)
        {
            var (w, h) = results.ImageId[i] == 1 ? (20, 70) : (50, 30);
            var (x, y, bw, bh) = (results.Box[4 * i], results.Box[4 * i + 1], results.Box[4 * i + 2], results.Box[4 * i + 3]);
            Assert.True(x >= 0 && y >= 0 && bw > 0 && bh > 0 && x + bw <= w + 1e-3 && y + bh <= h + 1e-3, $"box {x},{y},{bw},{bh} in {w}x{h}");
        }
        var picture = RgbImageFile.Read(Path.Combine(output, "a_boxes.png"));
        Assert.Equal(70 * picture.Width, 20 * picture.Height);
        Assert.True(File.Exists(Path.Combine(output, "b_boxes.png")));
    }

    [Fact]
    public void ImageIdsComeFromTheGroundTruthAndCategoriesFromTheCheckpointMap()
    {
        var dir = TinyTask.TempDir();
        var images = Images(dir, ("x.png", 40, 40), ("y.png", 40, 40));
        var gt = Path.Combine(dir, "instances.json");
        File.WriteAllText(gt, """
            {"images": [{"id": 17, "file_name": "train/y.png", "width": 40, "height": 40},
                        {"id": 5, "file_name": "x.png", "width": 40, "height": 40}],
             "categories": [{"id": 3, "name": "a"}], "annotations": []}
            """);
        var output = Path.Combine(dir, "out");
        var (code, _, err) = CliRunner.Run("predict", "det", "--model", Checkpoint(dir, [10, 20, 30]), "--input", images, "--out", output,
            "--gt", gt, "--score-threshold", "0.01", "--threads", "1");
        Assert.True(code == 0, err);
        var results = CocoJson.ReadDetections(Path.Combine(output, "predictions.json"), CocoIouType.Bbox);
        Assert.Equal([5L, 17], results.ImageId.Distinct().Order());
        Assert.Subset(new HashSet<long> { 10, 20, 30 }, results.CategoryId.ToHashSet());
        Assert.All(results.Score, s => Assert.True(s > 0.01));
    }

    [Fact]
    public void OneImageFileWorksAndAHigherThresholdKeepsFewer()
    {
        var dir = TinyTask.TempDir();
        var image = Path.Combine(Images(dir, ("only.png", 64, 48)), "only.png");
        var model = Checkpoint(dir);
        Assert.Equal(0, CliRunner.Run("predict", "det", "--model", model, "--input", image, "--out", Path.Combine(dir, "low"),
            "--nms-iou", "1", "--threads", "1").Code);
        Assert.Equal(0, CliRunner.Run("predict", "det", "--model", model, "--input", image, "--out", Path.Combine(dir, "high"),
            "--score-threshold", "0.05", "--nms-iou", "1", "--threads", "1").Code);
        var low = CocoJson.ReadDetections(Path.Combine(dir, "low", "predictions.json"), CocoIouType.Bbox);
        var high = CocoJson.ReadDetections(Path.Combine(dir, "high", "predictions.json"), CocoIouType.Bbox);
        Assert.True(low.Count > high.Count, $"{low.Count} vs {high.Count}");
        Assert.All(low.ImageId, id => Assert.Equal(1, id));
    }

    [Fact]
    public void OutputsThatWouldReplaceAnInputAreRefusedUpFront()
    {
        var dir = TinyTask.TempDir();
        var images = Images(dir, ("a.png", 32, 32), ("a_boxes.png", 32, 32));
        var before = File.ReadAllBytes(Path.Combine(images, "a_boxes.png"));
        var (code, _, err) = CliRunner.Run("predict", "det", "--model", Checkpoint(dir), "--input", images, "--out", images, "--threads", "1");
        Assert.Equal(2, code);
        Assert.Contains("would overwrite the input", err);
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(images, "a_boxes.png")));
        Assert.False(File.Exists(Path.Combine(images, "predictions.json")));

        // a ground truth named predictions.json in the output folder
        var gt = Path.Combine(dir, "predictions.json");
        File.WriteAllText(gt, """{"images": [], "categories": [], "annotations": []}""");
        var single = Path.Combine(Images(dir, ("z.png", 32, 32)), "z.png");
        (code, _, err) = CliRunner.Run("predict", "det", "--model", Checkpoint(dir), "--input", single, "--out", dir, "--gt", gt, "--threads", "1");
        Assert.Equal(2, code);
        Assert.Contains("would overwrite the input", err);
    }

    [Fact]
    public void BadInputsAreOneLineErrors()
    {
        var dir = TinyTask.TempDir();
        var images = Images(dir, ("a.png", 32, 32));
        var model = Checkpoint(dir);
        var output = Path.Combine(dir, "out");

        static string Problem(params string[] args)
        {
            var (code, _, err) = CliRunner.Run([.. args, "--threads", "1"]);
            Assert.Equal(2, code);
            Assert.StartsWith("error: ", err);
            Assert.Single(err.Trim().Split('\n'));
            return err;
        }

        Assert.Contains("file not found", Problem("predict", "det", "--model", Path.Combine(dir, "none.ckpt"), "--input", images, "--out", output));
        Assert.Contains("not a PixelBox checkpoint", Problem("predict", "det", "--model", Path.Combine(images, "a.png"), "--input", images, "--out", output));
        Assert.Contains("no such file or folder", Problem("predict", "det", "--model", model, "--input", Path.Combine(dir, "missing"), "--out", output));
        Assert.Contains("--score-threshold", Problem("predict", "det", "--model", model, "--input", images, "--out", output, "--score-threshold", "1.5"));
        Assert.Contains("--max-dets", Problem("predict", "det", "--model", model, "--input", images, "--out", output, "--max-dets", "0"));

        // a segmentation checkpoint is not a detector
        var segInfo = new SegmentationModelInfo("unet-same", 2, 3, ["bg", "fg"], Normalization.ImageNet, 255, new ModelSize(4, 2));
        using (var seg = segInfo.CreateModel())
            PixelBox.Training.Checkpoint.Write(Path.Combine(dir, "seg.ckpt"), new JsonObject { ["model"] = segInfo.ToJson() }, seg, null);
        Assert.Contains("not a detection checkpoint", Problem("predict", "det", "--model", Path.Combine(dir, "seg.ckpt"), "--input", images, "--out", output));

        var gt = Path.Combine(dir, "gt.json");
        File.WriteAllText(gt, """{"images": [{"id": 1, "file_name": "other.png", "width": 32, "height": 32}], "categories": [], "annotations": []}""");
        Assert.Contains("not among the images", Problem("predict", "det", "--model", model, "--input", images, "--out", output, "--gt", gt));
        File.WriteAllText(gt, """{"images": [{"id": 1, "width": 32, "height": 32}], "categories": [], "annotations": []}""");
        Assert.Contains("no file_name", Problem("predict", "det", "--model", model, "--input", images, "--out", output, "--gt", gt));
        Assert.False(Directory.Exists(output));
    }
}
