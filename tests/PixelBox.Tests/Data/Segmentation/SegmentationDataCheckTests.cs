using System.Text.Json;
using PixelBox.Data;
using PixelBox.Masks;
using PixelBox.Tests.Cli;
using static PixelBox.Tests.Data.Segmentation.SegmentationTestData;

namespace PixelBox.Tests.Data.Segmentation;

[Collection(CliRunner.Collection)]
public class SegmentationDataCheckTests
{
    static Dictionary<string, int> Kinds(JsonElement report) =>
        report.GetProperty("problems").EnumerateArray().ToDictionary(p => p.GetProperty("kind").GetString()!, p => p.GetProperty("count").GetInt32());

    static long[] Counts(JsonElement report) =>
        report.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("count").GetInt64()).ToArray();

    static int[] Size(JsonElement split, string which) =>
        split.GetProperty("sizes").GetProperty(which).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    [Fact]
    public void Voc_segmentation_check_counts_pixels_per_class_and_sizes_per_split()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp.Combine("VOC2012"));
        var json = tmp.Combine("report.json");
        var (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", "voc", "--json", json);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("voc segmentation dataset at", stdout);
        Assert.Contains("4 images (every image decoded)", stdout);
        Assert.Contains("usable: no errors", stdout);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var r = doc.RootElement;
        Assert.Equal(("voc", "segmentation", "pixels"), (r.GetProperty("format").GetString(), r.GetProperty("task").GetString(), r.GetProperty("class_unit").GetString()));
        Assert.Equal(4, r.GetProperty("images").GetInt32());
        var splits = r.GetProperty("splits").EnumerateArray().ToDictionary(s => s.GetProperty("name").GetString()!);
        Assert.Equal(["train", "trainval", "val"], splits.Keys.Order());
        Assert.Equal((2, 4, 2), (splits["train"].GetProperty("images").GetInt32(), splits["trainval"].GetProperty("images").GetInt32(), splits["val"].GetProperty("images").GetInt32()));
        Assert.Equal([16, 12], Size(splits["train"], "min"));
        Assert.Equal([20, 16], Size(splits["train"], "max"));
        Assert.Equal([12, 8], Size(splits["val"], "min"));
        Assert.Equal([16, 12], Size(splits["val"], "max"));
        Assert.Equal([16, 12], Size(splits["trainval"], "most_common"));
        Assert.Equal(2, splits["trainval"].GetProperty("sizes").GetProperty("most_common_count").GetInt32());

        var expected = new long[21];
        for (int i = 0; i < VocSamples.Length; i++)
        {
            var (_, w, h, _) = VocSamples[i];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    if (VocValue(x, y, i) is var v && v != 255) expected[v]++;
        }
        Assert.Equal(expected, Counts(r));
        Assert.Empty(Kinds(r));
    }

    [Fact]
    public void Voc_check_gives_the_detection_report_as_before_and_the_segmentation_report_when_both_are_there()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp.Combine("VOC2012"));
        Directory.CreateDirectory(Path.Combine(root, "Annotations"));
        File.WriteAllText(Path.Combine(root, "Annotations", "2008_000001.xml"),
            "<annotation><filename>2008_000001.jpg</filename><size><width>8</width><height>8</height><depth>3</depth></size>" +
            "<object><name>cat</name><bndbox><xmin>2</xmin><ymin>2</ymin><xmax>6</xmax><ymax>6</ymax></bndbox></object></annotation>");
        var json = tmp.Combine("report.json");
        var (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", "voc", "--json", json);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"voc dataset at {root}\n1 images, 1 objects", stdout);
        Assert.Contains("voc segmentation dataset at", stdout);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.True(doc.RootElement.GetProperty("usable").GetBoolean());
        var reports = doc.RootElement.GetProperty("reports").EnumerateArray().ToArray();
        Assert.Equal(2, reports.Length);
        Assert.False(reports[0].TryGetProperty("task", out _));
        Assert.Equal("objects", reports[0].GetProperty("class_unit").GetString());
        Assert.Equal("segmentation", reports[1].GetProperty("task").GetString());

        // the detection report alone is the same object as before segmentation existed
        Directory.Delete(Path.Combine(root, "SegmentationClass"), recursive: true);
        (code, _, _) = CliRunner.Run("data", "check", root, "--format", "voc", "--json", json);
        Assert.Equal(0, code);
        using var alone = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal("voc", alone.RootElement.GetProperty("format").GetString());
        Assert.Equal(1, alone.RootElement.GetProperty("objects").GetInt32());
    }

    [Fact]
    public void Voc_check_finds_every_broken_missing_mismatched_and_out_of_range_mask_and_exits_two()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp.Combine("VOC2012"));
        var masks = Path.Combine(root, "SegmentationClass");
        PaletteMask(Path.Combine(masks, "2007_000032.png"), 16, 12, Values(16, 12, (x, y) => x == 3 ? 30 : 1));   // 12 pixels of 30
        var truncated = Path.Combine(masks, "2007_000039.png");
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..60]);
        PaletteMask(Path.Combine(masks, "2007_000063.png"), 13, 8, new byte[13 * 8]);
        File.Delete(Path.Combine(masks, "2007_000068.png"));

        var json = tmp.Combine("report.json");
        var (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "voc", "--json", json);
        Assert.Equal(2, code);
        Assert.Contains("NOT usable", stdout);
        Assert.Contains("label 30 at pixel (3, 0) is not one of VOC's 21 classes", stdout);
        Assert.Contains("(12 such pixels)", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var kinds = Kinds(doc.RootElement);
        Assert.Equal(1, kinds["label_out_of_range"]);
        Assert.Equal(1, kinds["broken_mask"]);
        Assert.Equal(1, kinds["size_mismatch"]);
        Assert.Equal(2, kinds["missing_mask"]); // listed in val.txt and trainval.txt
    }

    [Fact]
    public void Cityscapes_check_counts_train_id_pixels_and_reports_missing_and_unknown_label_ids()
    {
        using var tmp = new TempDir();
        var root = Cityscapes(tmp.Combine("cityscapes"));
        var json = tmp.Combine("report.json");
        var (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", "cityscapes", "--json", json);
        Assert.True(code == 0, stdout + stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(json)))
        {
            var r = doc.RootElement;
            var expected = new long[19];
            for (int i = 0; i < CityscapesSamples.Length; i++)
            {
                var (_, _, _, w, h) = CityscapesSamples[i];
                foreach (var t in TrainIds(Values(w, h, (x, y) => CityscapesId(x, y, i))))
                    if (t != 255) expected[t]++;
            }
            Assert.Equal(expected, Counts(r));
            Assert.Equal(26, r.GetProperty("classes")[13].GetProperty("category_id").GetInt64()); // car's label id
            Assert.Equal([3, 1], r.GetProperty("splits").EnumerateArray().Select(s => s.GetProperty("images").GetInt32()));
        }

        File.Delete(Path.Combine(root, "gtFine", "val", "frankfurt", "frankfurt_000000_000294_gtFine_labelIds.png"));
        // row 7 an id Cityscapes does not have, the rest 0 (unlabeled, train id 255): no labelled pixel left, a warning
        GreyMask(Path.Combine(root, "gtFine", "train", "bochum", "bochum_000000_000313_gtFine_labelIds.png"), 16, 8, Values(16, 8, (x, y) => y == 7 ? 40 : 0));
        (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "cityscapes", "--json", json);
        Assert.Equal(2, code);
        Assert.Contains("label 40 at pixel (0, 7) is not a Cityscapes label id", stdout);
        Assert.Contains("(16 such pixels)", stdout);
        using var bad = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.Equal(new Dictionary<string, int> { ["empty_image"] = 1, ["label_out_of_range"] = 1, ["missing_mask"] = 1 }, Kinds(bad.RootElement));
    }

    [Fact]
    public void Masks_check_counts_pixels_and_finds_broken_images_and_images_without_masks()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("shapes");
        ShapesDataset.Generate(root, 6, 16, seed: 5, valFraction: 0.34);
        var json = tmp.Combine("report.json");
        var (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", "masks", "--json", json);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("masks segmentation dataset at", stdout);
        using (var doc = JsonDocument.Parse(File.ReadAllBytes(json)))
        {
            var expected = new long[ShapesDataset.ClassNames.Length];
            foreach (var mask in Directory.GetFiles(Path.Combine(root, "masks")))
                foreach (var v in IndexMaskPng.Read(mask).Pixels)
                    if (v != 255) expected[v]++;
            Assert.Equal(expected, Counts(doc.RootElement));
            Assert.Equal(ShapesDataset.ClassNames, doc.RootElement.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()!));
            Assert.Equal(6, doc.RootElement.GetProperty("images").GetInt32());
        }

        var images = Directory.GetFiles(Path.Combine(root, "images")).Order(StringComparer.Ordinal).ToArray();
        File.WriteAllBytes(images[0], File.ReadAllBytes(images[0])[..^30]); // truncated pixel data
        File.Delete(Path.Combine(root, "masks", Path.GetFileNameWithoutExtension(images[1]) + ".png"));
        (code, stdout, _) = CliRunner.Run("data", "check", root, "--format", "masks", "--json", json);
        Assert.Equal(2, code);
        using var bad = JsonDocument.Parse(File.ReadAllBytes(json));
        var kinds = Kinds(bad.RootElement);
        Assert.Equal(1, kinds["broken_image"]);
        Assert.Equal(1, kinds["missing_mask"]);
    }
}
