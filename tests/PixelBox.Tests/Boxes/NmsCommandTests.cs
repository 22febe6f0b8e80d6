using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PixelBox.Tests.Cli;

namespace PixelBox.Tests.Boxes;

/// <summary>`pixelbox nms`: records kept byte for byte, per image and category, torchvision's choices, bad input.</summary>
[Collection(CliRunner.Collection)]
public sealed class NmsCommandTests : IDisposable
{
    readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("pixelbox-nms-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    string PathOf(string name) => Path.Combine(_dir.FullName, name);

    string Write(string name, string text)
    {
        File.WriteAllText(PathOf(name), text);
        return PathOf(name);
    }

    const string Results = """
        [{"image_id": 7, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9, "note": "kept as is"},
         {"image_id": 7, "category_id": 1, "bbox": [1, 1, 10, 10], "score": 0.8},
         {"image_id": 7, "category_id": 2, "bbox": [1.0, 1.0, 10.0, 10.0], "score": 0.70000000000000001},
         {"image_id": 3, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 1e-1},
         {"image_id": 7, "category_id": 1, "bbox": [40, 40, 5, 5], "score": 0.95}]
        """;

    static string[] Lines(string file) => File.ReadAllLines(file);

    [Fact]
    public void NmsKeepsRecordsVerbatimPerImageAndCategory()
    {
        var input = Write("dt.json", Results);
        var output = PathOf("out.json");
        var (code, stdout, stderr) = CliRunner.Run("nms", "--dt", input, "--method", "nms", "--iou", "0.5", "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("5 results", stdout);
        Assert.Equal(
        [
            "[",
            """{"image_id": 7, "category_id": 1, "bbox": [40, 40, 5, 5], "score": 0.95},""",
            """{"image_id": 7, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9, "note": "kept as is"},""",
            """{"image_id": 7, "category_id": 2, "bbox": [1.0, 1.0, 10.0, 10.0], "score": 0.70000000000000001},""",
            """{"image_id": 3, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 1e-1}""",
            "]",
        ], Lines(output));
        // class-agnostic: the category-2 box (IoU 0.68 with the first) goes too; a threshold drops the 0.1 one
        (code, _, stderr) = CliRunner.Run("nms", "--dt", input, "--class-agnostic", "--score-threshold", "0.5", "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Equal(4, Lines(output).Length);
        Assert.DoesNotContain(Lines(output), l => l.Contains("\"category_id\": 2") || l.Contains("1e-1"));
        // --max-dets per image
        (code, _, stderr) = CliRunner.Run("nms", "--dt", input, "--max-dets", "1", "--out", output);
        Assert.True(code == 0, stderr);
        Assert.Equal(4, Lines(output).Length);
        Assert.Contains("0.95", Lines(output)[1]);
    }

    [Fact]
    public void EmptyResultsGiveAnEmptyList()
    {
        var input = Write("empty.json", "[]");
        var (code, _, stderr) = CliRunner.Run("nms", "--dt", input, "--out", PathOf("out.json"));
        Assert.True(code == 0, stderr);
        Assert.Equal("[]", File.ReadAllText(PathOf("out.json")).Trim());
    }

    [Fact]
    public void SoftNmsRewritesOnlyTheScoresItChanges()
    {
        var input = Write("dt.json", Results);
        var output = PathOf("soft.json");
        var (code, _, stderr) = CliRunner.Run("nms", "--dt", input, "--method", "soft-linear", "--iou", "0.3", "--out", output);
        Assert.True(code == 0, stderr);
        var lines = Lines(output);
        Assert.Equal(7, lines.Length);
        // box 1 overlaps box 0 with IoU 81/119: its score 0.8 * (1 - 81/119), written in shortest round-trip form
        double decayed = 0.8 * (1 - 81.0 / 119);
        Assert.Contains(lines, l => l.StartsWith("""{"image_id": 7, "category_id": 1, "bbox": [1, 1, 10, 10], "score": """ + decayed.ToString("R", CultureInfo.InvariantCulture) + "}"));
        Assert.Contains("""{"image_id": 7, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9, "note": "kept as is"},""", lines);
        Assert.Contains("""{"image_id": 7, "category_id": 2, "bbox": [1.0, 1.0, 10.0, 10.0], "score": 0.70000000000000001},""", lines);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var scores = doc.RootElement.EnumerateArray().Where(e => e.GetProperty("image_id").GetInt64() == 7).Select(e => e.GetProperty("score").GetDouble()).ToArray();
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public void WbfFusesAnEnsembleOfFiles()
    {
        var a = Write("a.json", """[{"image_id": 1, "category_id": 4, "bbox": [0, 0, 10, 10], "score": 0.9}, {"image_id": 1, "category_id": 4, "bbox": [100, 100, 5, 5], "score": 0.5}]""");
        var b = Write("b.json", """[{"image_id": 1, "category_id": 4, "bbox": [2, 0, 10, 10], "score": 0.6}]""");
        var output = PathOf("wbf.json");
        var (code, _, stderr) = CliRunner.Run("nms", "--dt", a, b, "--method", "wbf", "--iou", "0.55", "--out", output);
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(output));
        var records = doc.RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, records.Length);
        // fused: x1 = (0.9 * 0 + 0.6 * 2) / 1.5 = 0.8 (float32), score (0.9 + 0.6) / 2 * 2 / 2
        var fused = records[0];
        Assert.Equal(4, fused.GetProperty("category_id").GetInt64());
        Assert.Equal((double)(float)0.75, fused.GetProperty("score").GetDouble(), 12);
        Assert.Equal(0.8, fused.GetProperty("bbox")[0].GetDouble(), 6);
        Assert.Equal(10.0, fused.GetProperty("bbox")[2].GetDouble(), 5);
        // the lone box of one model out of two: score halved, the rest of its record as it was
        Assert.Equal("""{"image_id": 1, "category_id": 4, "bbox": [100, 100, 5, 5], "score": 0.25}""", Lines(output)[2]);
        (code, _, stderr) = CliRunner.Run("nms", "--dt", a, b, "--method", "wbf", "--weights", "3,1", "--out", output);
        Assert.True(code == 0, stderr);
    }

    [Theory]
    [InlineData("malformed.json", "[{\"image_id\": 1,", "malformed JSON")]
    [InlineData("missing.json", "[{\"image_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 0.5}]", "results[0]: missing field 'category_id'")]
    [InlineData("notlist.json", "{\"image_id\": 1}", "results must be a JSON list of objects")]
    [InlineData("negative.json", "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, -1, 1], \"score\": 0.5}]", "bbox width is negative")]
    [InlineData("nan.json", "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": NaN}]", "non-finite number")]
    public void BadResultsFilesAreOneLineErrors(string name, string text, string problem)
    {
        var input = Write(name, text);
        var output = PathOf("out.json");
        var (code, stdout, stderr) = CliRunner.Run("nms", "--dt", input, "--out", output);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith($"error: {input}: ", line);
        Assert.Contains(problem, line);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void BadOptionsAndFilesAreOneLineErrors()
    {
        var input = Write("dt.json", Results);
        var before = File.ReadAllBytes(input);
        void Expect(string start, params string[] args)
        {
            var (code, _, stderr) = CliRunner.Run(["nms", .. args]);
            Assert.Equal(2, code);
            var line = Assert.Single(stderr.TrimEnd().Split('\n'));
            Assert.StartsWith(start, line);
        }
        Expect($"error: {input}: --out is also an input", "--dt", input, "--out", input);
        var link = PathOf("link.json");
        File.CreateSymbolicLink(link, input);
        Expect($"error: {link}: --out is also an input", "--dt", input, "--out", link);
        Assert.Equal(before, File.ReadAllBytes(input));
        Expect($"error: {PathOf("none.json")}: file not found", "--dt", PathOf("none.json"), "--out", PathOf("o.json"));
        Expect("error: --method: Argument 'fast' not recognized. Must be one of: 'nms' 'soft-linear' 'soft-gaussian' 'wbf'", "--dt", input, "--method", "fast", "--out", PathOf("o.json"));
        Expect("error: --iou: must be between 0 and 1 (got 1.5)", "--dt", input, "--iou", "1.5", "--out", PathOf("o.json"));
        Expect("error: --weights: 1 weight(s) for 2 results file(s)", "--dt", input, input, "--method", "wbf", "--weights", "1", "--out", PathOf("o.json"));
        Expect("error: --weights: 'a,b' is not", "--dt", input, "--method", "wbf", "--weights", "a,b", "--out", PathOf("o.json"));
        Expect("error: --max-dets: must be between 1 and", "--dt", input, "--max-dets", "0", "--out", PathOf("o.json"));
        Expect("error: --sigma: must be between", "--dt", input, "--sigma", "0", "--out", PathOf("o.json"));
        Assert.False(File.Exists(PathOf("o.json")));
    }

    [PythonTorchFact]
    public void KeptRecordsAreTorchvisionsPerImageAndCategory()
    {
        // 3 images x 3 categories of clustered boxes with arbitrary decimals
        var random = new Random(3);
        var sb = new StringBuilder("[");
        int n = 0;
        for (int image = 1; image <= 3; image++)
            for (int i = 0; i < 400; i++)
            {
                double cx = 100 + 300 * (i % 5) / 4.0 + random.NextDouble() * 40, cy = 120 + random.NextDouble() * 40;
                double w = 60 + random.NextDouble() * 30, h = 50 + random.NextDouble() * 30;
                sb.Append(n++ == 0 ? "" : ",\n").Append(CultureInfo.InvariantCulture,
                    $"{{\"image_id\": {image}, \"category_id\": {random.Next(3) + 1}, \"bbox\": [{cx - w / 2:R}, {cy - h / 2:R}, {w:R}, {h:R}], \"score\": {random.NextDouble():R}}}");
            }
        var input = Write("many.json", sb.Append(']').ToString());
        foreach (var agnostic in new[] { false, true })
        {
            var output = PathOf($"kept_{agnostic}.json");
            var args = new List<string> { "nms", "--dt", input, "--iou", "0.45", "--out", output };
            if (agnostic)
                args.Add("--class-agnostic");
            var (code, _, stderr) = CliRunner.Run(args.ToArray());
            Assert.True(code == 0, stderr);
            var script = Write("expected.py", $$"""
                import json, sys, torch, torchvision
                recs = json.load(open(sys.argv[1]))
                kept = []
                for image in sorted({r["image_id"] for r in recs}):
                    idx = [i for i, r in enumerate(recs) if r["image_id"] == image]
                    groups = [idx] if {{(agnostic ? "True" : "False")}} else [[i for i in idx if recs[i]["category_id"] == c] for c in sorted({recs[i]["category_id"] for i in idx})]
                    for g in groups:
                        b = torchvision.ops.box_convert(torch.tensor([recs[i]["bbox"] for i in g], dtype=torch.float32), "xywh", "xyxy")
                        s = torch.tensor([recs[i]["score"] for i in g], dtype=torch.float32)
                        kept += [g[k] for k in torchvision.ops.nms(b, s, 0.45).tolist()]
                print(json.dumps(sorted(kept)))
                """);
            var start = new ProcessStartInfo(BoxReference.Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(input);
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            var expected = JsonSerializer.Deserialize<int[]>(process.StandardOutput.ReadToEnd())!;
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, errors.Result);
            // identify kept records by their text (every record is distinct)
            var lines = File.ReadAllLines(input).Select(l => l.TrimStart('[').TrimEnd(',', ']')).ToArray();
            var got = File.ReadAllLines(output).Where(l => l.StartsWith('{')).Select(l => Array.IndexOf(lines, l.TrimEnd(','))).Order().ToArray();
            Assert.DoesNotContain(-1, got);
            Assert.Equal(expected, got);
        }
    }
}
