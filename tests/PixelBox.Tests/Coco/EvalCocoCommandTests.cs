using PixelBox.Tests.Cli;
using System.Text.Json;
using PixelBox.Cli;

namespace PixelBox.Tests.Coco;

[CollectionDefinition("CocoCli console", DisableParallelization = true)]
public class CocoCliConsoleCollection;

/// <summary>`pixelbox eval coco` in-process: good input, and every class of bad input (exit 2, one line).</summary>
[Collection(CliRunner.Collection)]
public sealed class EvalCocoCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("pixelbox-coco-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    static string Tiny(string file) => SharedFiles.Fixture("coco", "tiny", file);

    string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void GoodInputPrintsSummaryAndWritesJson()
    {
        var json = Path.Combine(_dir, "report.json");
        var (code, stdout, stderr) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", Tiny("dt.json"), "--json", json);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var expectedDoc = JsonDocument.Parse(File.ReadAllBytes(Tiny("expected.json")));
        var expected = expectedDoc.RootElement.GetProperty("bbox");
        Assert.StartsWith(expected.GetProperty("summary_text").GetString()!, stdout.Replace("\r\n", "\n"));
        Assert.Contains("1 person", stdout);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var root = doc.RootElement;
        Assert.Equal("bbox", root.GetProperty("iou_type").GetString());
        Assert.Equal(expected.GetProperty("stats").EnumerateArray().Select(x => x.GetDouble()),
            root.GetProperty("stats").EnumerateArray().Select(x => x.GetDouble()));
        Assert.Equal(expected.GetProperty("stats_names").EnumerateArray().Select(x => x.GetString()),
            root.GetProperty("stats_names").EnumerateArray().Select(x => x.GetString()));
        var ours = root.GetProperty("per_category").EnumerateArray().ToArray();
        var theirs = expected.GetProperty("per_category").EnumerateArray().ToArray();
        Assert.Equal(theirs.Length, ours.Length);
        for (int k = 0; k < ours.Length; k++)
        {
            foreach (var field in theirs[k].EnumerateObject())
                Assert.Equal(field.Value.GetDouble(), ours[k].GetProperty(field.Name).GetDouble());
            Assert.Equal(ours[k].GetProperty("category_id").GetInt64() == 1 ? "person" : "car", ours[k].GetProperty("name").GetString());
        }
        // TP/FP/FN at IoU .5 (hand count in CocoDetailTests)
        Assert.Equal((4, 3, 0), (ours[0].GetProperty("tp").GetInt32(), ours[0].GetProperty("fp").GetInt32(), ours[0].GetProperty("fn").GetInt32()));
        Assert.Equal((1, 2, 1), (ours[1].GetProperty("tp").GetInt32(), ours[1].GetProperty("fp").GetInt32(), ours[1].GetProperty("fn").GetInt32()));
    }

    [Fact]
    public void CustomMaxDetsAreUsedInTheSummary()
    {
        var (code, stdout, _) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", Tiny("dt.json"), "--max-dets", "2,1");
        Assert.Equal(0, code);
        Assert.Contains("maxDets=  2 ] =", stdout);
        Assert.Contains("(AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ]", stdout);
        Assert.DoesNotContain("maxDets=100", stdout);
    }

    [Fact]
    public void EmptyResultsAreNotAnError()
    {
        var dt = Write("empty.json", "[]");
        var json = Path.Combine(_dir, "report.json");
        var (code, _, stderr) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", dt, "--json", json);
        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.All(doc.RootElement.GetProperty("per_category").EnumerateArray(), c => Assert.Equal(0.0, c.GetProperty("ap").GetDouble()));
    }

    [Fact]
    public void UnknownCategoryIsIgnoredWithAWarning()
    {
        var dt = Write("dt.json", """[{"image_id": 1, "category_id": 1, "bbox": [100, 100, 100, 100], "score": 0.9}, {"image_id": 1, "category_id": 77, "bbox": [0, 0, 5, 5], "score": 0.5}]""");
        var (code, _, stderr) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", dt);
        Assert.Equal(0, code);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("warning: " + dt + ": 1 result(s) have category ids not in", line);
        Assert.Contains("(77)", line);
    }

    public static TheoryData<string, string, string> BadResults() => new()
    {
        { "malformed", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},""", "malformed JSON" },
        { "unknown image", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 42, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""", "results[1]: image_id 42 is not an image of" },
        { "missing score", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]""", "results[0]: missing field 'score'" },
        { "missing bbox", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 1, "category_id": 1, "score": 0.5}]""", "results[1]: missing field 'bbox'" },
        { "NaN width", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, NaN, 4], "score": 0.5}]""", "non-finite number (NaN or Infinity) in results[0]" },
        { "negative height", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, -4], "score": 0.5}]""", "results[0]: bbox height is negative (-4)" },
        { "string score", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "high"}]""", "results[0]: 'score' must be a number" },
        { "RLE size", """[{"image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "segmentation": {"size": [10, 10], "counts": "PPYo1"}}]""", "results[0]: RLE size [10, 10] differs from image 2's [240, 320]" },
        { "not a list", """{"image_id": 1}""", "results must be a JSON list" },
    };

    [Theory]
    [MemberData(nameof(BadResults))]
    public void BadResultsGiveOneLineAndExitCode2(string what, string content, string message)
    {
        var dt = Write("bad.json", content);
        var (code, stdout, stderr) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", dt);
        Assert.True(code == 2, what);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith($"error: {dt}: ", line);
        Assert.Contains(message, line);
        Assert.DoesNotContain(" at ", line.Replace(" at line ", ""));
        Assert.Equal("", stdout);
    }

    public static TheoryData<string, string> BadGroundTruth() => new()
    {
        { """{"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 0}]}""", "annotations[0] (id 1): missing field 'area'" },
        { """{"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, -1, 1], "area": 1, "iscrowd": 0}]}""", "annotations[0]: bbox width is negative (-1)" },
        { """{"images": [{"id": 1}, {"id": 1}], "categories": [], "annotations": []}""", "images[1]: duplicate id 1" },
        { """{"images": [], "categories": []}""", "missing field 'annotations'" },
        { """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1 "image_id": 1}]}""", "malformed JSON in annotations[0] at line 1" },
    };

    [Theory]
    [MemberData(nameof(BadGroundTruth))]
    public void BadGroundTruthGivesOneLineAndExitCode2(string content, string message)
    {
        var gt = Write("gt.json", content);
        var dt = Write("dt.json", "[]");
        var (code, _, stderr) = CliRunner.Run("eval", "coco", "--gt", gt, "--dt", dt);
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith($"error: {gt}: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void MissingFileIsAUserError()
    {
        var missing = Path.Combine(_dir, "nope.json");
        var (code, _, stderr) = CliRunner.Run("eval", "coco", "--gt", Tiny("gt.json"), "--dt", missing);
        Assert.Equal(2, code);
        Assert.Equal($"error: {missing}: file not found", stderr.Trim());
    }
}
