using PixelBox.Data;
using PixelBox.Tests.Cli;
using PixelBox.Tests.IO;

namespace PixelBox.Tests.Data.Detection;

/// <summary>
/// The detection readers open every file through <see cref="InputFile"/>: a FIFO, folder or oversized file where an
/// annotation, label file, data.yaml or list is expected is one line naming it (never a hang), in strict reading,
/// in data check and in data convert. Also the limits the fuzz targets rely on: finite float32 corners, data.yaml's
/// nesting, aliases and class count, and one-line messages whatever text the file holds.
/// </summary>
[Collection(CliRunner.Collection)]
public class DetectionInputFileTests
{
    /// <summary>Runs <paramref name="read"/> on another thread: a reader that blocks on a FIFO fails the test instead of hanging it.</summary>
    static InputException Refused(Func<object> read)
    {
        var task = Task.Run(() => Assert.Throws<InputException>(read));
        Assert.True(task.Wait(TimeSpan.FromMinutes(2)), "the reader blocked");
        return task.Result;
    }

    static string Voc(TempDir tmp, bool imageSets)
    {
        var root = tmp.Combine("VOC");
        Directory.CreateDirectory(Path.Combine(root, "Annotations"));
        DetectionTestData.Png(Path.Combine(root, "JPEGImages", "a.png"), 20, 10, 1);
        File.WriteAllText(Path.Combine(root, "Annotations", "a.xml"),
            "<annotation><filename>a.png</filename><size><width>20</width><height>10</height></size>"
            + "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>");
        if (imageSets)
        {
            Directory.CreateDirectory(Path.Combine(root, "ImageSets", "Main"));
            File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "train.txt"), "a\n");
        }
        return root;
    }

    static string Yolo(TempDir tmp)
    {
        var root = tmp.Combine("yolo");
        DetectionTestData.Png(Path.Combine(root, "images", "train", "a.png"), 20, 10, 1);
        DetectionTestData.Png(Path.Combine(root, "images", "train", "b.png"), 20, 10, 2);
        Directory.CreateDirectory(Path.Combine(root, "labels", "train"));
        File.WriteAllText(Path.Combine(root, "labels", "train", "a.txt"), "0 0.5 0.5 0.2 0.2\n");
        File.WriteAllText(Path.Combine(root, "data.yaml"), "train: images/train\nnames: [cat]\n");
        return root;
    }

    [Fact]
    public void A_fifo_among_voc_annotations_is_refused_when_listed_or_named_in_a_split()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp, imageSets: false);
        var fifo = SpecialFiles.Fifo(Path.Combine(root, "Annotations", "b.xml"));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        // data check: recorded as a malformed file, the rest still read
        var log = new IssueLog(collectErrors: true);
        var data = VocDetectionFormat.Read(root, log);
        Assert.Single(data.Splits[0].Images);
        var issue = Assert.Single(log.Issues, i => i.Severity == IssueSeverity.Error);
        Assert.Equal((IssueKinds.Malformed, $"{fifo}: is a FIFO (named pipe), not a regular file"), (issue.Kind, issue.ToString()));

        Directory.CreateDirectory(Path.Combine(root, "ImageSets", "Main"));
        File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "train.txt"), "a\nb\n");
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
    }

    [Fact]
    public void Voc_lists_and_class_files_that_are_not_regular_files_are_refused()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp, imageSets: true);
        var split = SpecialFiles.Fifo(Path.Combine(root, "ImageSets", "Main", "val.txt"));
        Assert.Equal($"{split}: is a FIFO (named pipe), not a regular file", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.Delete(split);
        var classes = Path.Combine(root, "classes.txt");
        Directory.CreateDirectory(classes);
        Assert.Equal($"{classes}: is a folder, not a file", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        Directory.Delete(classes);
        SpecialFiles.Fifo(classes);
        Assert.Equal($"{classes}: is a FIFO (named pipe), not a regular file", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        var xml = Path.Combine(root, "Annotations", "a.xml");
        Assert.Equal($"{xml}: is a file, not a dataset folder", Refused(() => VocDetectionFormat.Read(xml, new IssueLog())).Message);
        Assert.Equal($"{xml}: is a file, not a dataset folder", Refused(() => CocoDetectionFormat.Read(xml, new IssueLog())).Message);
    }

    [Fact]
    public void An_oversized_voc_annotation_is_refused_before_it_is_read()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp, imageSets: true);
        var xml = Path.Combine(root, "Annotations", "a.xml");
        File.Delete(xml);
        SpecialFiles.Sparse(xml, VocDetectionFormat.MaxAnnotationBytes + 1);
        Assert.Equal($"{xml}: file is too large (16 MB; a VOC annotation is at most 16 MB)", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
    }

    [Fact]
    public void Yolo_label_files_data_yaml_and_list_files_that_are_fifos_are_refused()
    {
        using var tmp = new TempDir();
        var root = Yolo(tmp);
        var label = SpecialFiles.Fifo(Path.Combine(root, "labels", "train", "b.txt"));
        Assert.Equal($"{label}: is a FIFO (named pipe), not a regular file", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.Delete(label);

        var list = SpecialFiles.Fifo(Path.Combine(root, "train.txt"));
        File.WriteAllText(Path.Combine(root, "data.yaml"), "train: train.txt\nnames: [cat]\n");
        Assert.Equal($"{list}: is a FIFO (named pipe), not a regular file", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);

        var yaml = Path.Combine(root, "data.yaml");
        File.Delete(yaml);
        SpecialFiles.Fifo(yaml);
        Assert.Equal($"{yaml}: is a FIFO (named pipe), not a regular file", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        Assert.Equal($"{yaml}: is a FIFO (named pipe), not a regular file", Refused(() => YoloDetectionFormat.Read(yaml, new IssueLog())).Message);
        File.Delete(yaml);
        Directory.CreateDirectory(yaml);
        Assert.Equal($"{yaml}: is a folder, not a file", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
    }

    [Fact]
    public void A_label_file_that_is_a_folder_or_too_large_is_refused()
    {
        using var tmp = new TempDir();
        var root = Yolo(tmp);
        var label = Path.Combine(root, "labels", "train", "b.txt");
        Directory.CreateDirectory(label);
        Assert.Equal($"{label}: is a folder, not a file", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        Directory.Delete(label);
        SpecialFiles.Sparse(label, YoloDetectionFormat.MaxLabelBytes + 1);
        Assert.Equal($"{label}: file is too large (64 MB; a YOLO label file is at most 64 MB)", Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
    }

    [Fact]
    public void A_coco_split_list_that_is_a_fifo_is_refused()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("s");
        ShapesDataset.Generate(root, 4, 32, seed: 5);
        var val = Path.Combine(root, "val.txt");
        File.Delete(val);
        SpecialFiles.Fifo(val);
        Assert.Equal($"{val}: is a FIFO (named pipe), not a regular file", Refused(() => DetectionFormats.Open(root, "shapes")).Message);
        Assert.Equal($"{val}: is a FIFO (named pipe), not a regular file", Refused(() => DetectionFormats.Open(root, "coco")).Message);
    }

    [Theory]
    [InlineData("voc")]
    [InlineData("yolo")]
    public void Data_check_and_convert_refuse_a_fifo_with_one_line_and_exit_2(string format)
    {
        using var tmp = new TempDir();
        var root = format == "voc" ? Voc(tmp, imageSets: false) : Yolo(tmp);
        var fifo = SpecialFiles.Fifo(format == "voc" ? Path.Combine(root, "Annotations", "b.xml") : Path.Combine(root, "labels", "train", "b.txt"));
        var line = $"{fifo}: is a FIFO (named pipe), not a regular file";

        var (code, stdout, stderr) = CliRunner.Run("data", "convert", "--in", root, "--from", format, "--to", "coco", "--out", tmp.Combine("out"));
        Assert.Equal(2, code);
        Assert.Equal($"error: {line}", stderr.Trim());
        Assert.False(Directory.Exists(tmp.Combine("out")));

        (code, stdout, stderr) = CliRunner.Run("data", "check", root, "--format", format);
        Assert.True(code == 2, stdout + stderr);
        Assert.Contains(line, stdout + stderr);
        Assert.DoesNotContain("   at ", stdout + stderr);
    }

    [Fact]
    public void Corners_beyond_float32_are_refused_and_large_finite_ones_kept()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp, imageSets: true);
        var xml = Path.Combine(root, "Annotations", "a.xml");
        File.WriteAllText(xml, "<annotation><size><width>20</width><height>10</height></size>"
            + "<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>1e39</xmax><ymax>5</ymax></bndbox></object></annotation>");
        Assert.Equal($"{xml}: object 0 (line 1): <xmax> is '1e39', beyond the range of float32 pixel coordinates (+-3.4e38)",
            Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(xml, File.ReadAllText(xml).Replace("1e39", "3e38"));
        var log = new IssueLog();
        Assert.Equal(3e38f, VocDetectionFormat.Read(root, log).Splits[0].Images[0].Objects[0].X1);
        Assert.Contains(log.Issues, i => i.Kind == IssueKinds.BoxOutOfBounds);

        var yolo = Yolo(tmp);
        var label = Path.Combine(yolo, "labels", "train", "a.txt");
        File.WriteAllText(label, "0 0.5 0.5 0.2 0.2\n0 1e38 0.5 0.2 0.2\n");
        Assert.Equal($"{label}: line 2: the box is beyond the range of float32 pixel coordinates (+-3.4e38) in the 20x10 image",
            Refused(() => YoloDetectionFormat.Read(yolo, new IssueLog())).Message);
        File.WriteAllText(label, "0 0.5 0.5 0.2 0.2\n0 1 0.5 0.2 0.2 1e300 0.5\n");
        Assert.Equal($"{label}: line 2: the box is beyond the range of float32 pixel coordinates (+-3.4e38) in the 20x10 image",
            Refused(() => YoloDetectionFormat.Read(yolo, new IssueLog())).Message);
    }

    [Theory]
    [InlineData("train: images/train\nnames: [cat]\nx: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
        "line 3: nested deeper than 64 levels")]
    [InlineData("train: images/train\nnames: &n [cat]\nval: *n\n", "line 3: aliases (*name) are not supported in data.yaml")]
    [InlineData("train: images/train\nnc: 100001\n", "line 2: nc is 100001; at most 100,000 classes")]
    [InlineData("train: [images/train, list.t\nnames: [cat]\n", "malformed YAML")]
    [InlineData("train: images/train\nnames:\n", "no 'names' (the class names, e.g. names: [cat, dog]) and no 'nc'")]
    public void Data_yaml_limits_are_one_line_errors(string yaml, string problem)
    {
        using var tmp = new TempDir();
        var root = Yolo(tmp);
        var file = Path.Combine(root, "data.yaml");
        File.WriteAllText(file, yaml);
        var message = Refused(() => YoloDetectionFormat.Read(root, new IssueLog())).Message;
        Assert.StartsWith($"{file}: {problem}", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void Text_from_the_file_is_quoted_on_one_line()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp, imageSets: true);
        var xml = Path.Combine(root, "Annotations", "a.xml");
        File.WriteAllText(xml, "<annotation><object><name>dog</name><bndbox><xmin>1\n2</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>");
        Assert.Equal($"{xml}: object 0 (line 1): <xmin> is '1\\u000a2', not a number", Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(xml, "<annotation>\n<\n</annotation>");
        var message = Refused(() => VocDetectionFormat.Read(root, new IssueLog())).Message;
        Assert.StartsWith($"{xml}: malformed XML at line 2", message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void A_dataset_with_no_classes_converts_to_yolo_and_back()
    {
        using var tmp = new TempDir();
        var data = new DetectionDataset(tmp.Path, "memory", [], [], [new DetectionSplit("train", [])]);
        var yaml = YoloDetectionFormat.DataYaml(data.ClassNames, new Dictionary<string, string> { ["train"] = "train" });
        File.WriteAllText(tmp.Combine("data.yaml"), yaml);
        Assert.Empty(YoloDetectionFormat.ReadYaml(tmp.Combine("data.yaml")).Names);
    }
}
