using PixelBox.Data;

namespace PixelBox.Tests.Data.Detection;

/// <summary>Each format as people have it: hand-written samples, the conventions, and bad input as one line naming the file and record.</summary>
public class DetectionFormatTests
{
    static InputException Fails(Func<object> read) => Assert.Throws<InputException>(read);

    // ------------------------------------------------------------------ VOC
    static string VocXml(string filename, int w, int h, params string[] objects) => $"""
        <annotation>
          <folder>VOC2007</folder>
          <filename>{filename}</filename>
          <source><database>The VOC2007 Database</database></source>
          <size><width>{w}</width><height>{h}</height><depth>3</depth></size>
          <segmented>0</segmented>
          {string.Concat(objects)}
        </annotation>
        """;

    static string VocObject(string name, string xmin, string ymin, string xmax, string ymax, int difficult = 0, int truncated = 0) =>
        $"<object><name>{name}</name><pose>Left</pose><truncated>{truncated}</truncated><difficult>{difficult}</difficult>"
        + $"<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>";

    static string MakeVoc(TempDir tmp)
    {
        var root = tmp.Combine("VOC");
        Directory.CreateDirectory(Path.Combine(root, "Annotations"));
        Directory.CreateDirectory(Path.Combine(root, "ImageSets", "Main"));
        DetectionTestData.Png(Path.Combine(root, "JPEGImages", "000001.png"), 20, 10, 1);
        DetectionTestData.Png(Path.Combine(root, "JPEGImages", "000002.png"), 8, 8, 2);
        File.WriteAllText(Path.Combine(root, "Annotations", "000001.xml"), VocXml("000001.png", 20, 10,
            VocObject("dog", "1", "1", "20", "10"), VocObject("person", "3", "2", "5", "4", difficult: 1, truncated: 1)));
        // <filename> as a labelling tool left it: the image is found by its id
        File.WriteAllText(Path.Combine(root, "Annotations", "000002.xml"), VocXml("IMG_1234.JPG", 8, 8, VocObject("cat", "2.5", "3", "4", "7.25")));
        File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "train.txt"), "000001\n");
        File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "val.txt"), "000002\n");
        File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "dog_train.txt"), "000001  1\n"); // per-class file: not a split
        return root;
    }

    [Fact]
    public void VocPixelsAreOneBasedAndInclusive()
    {
        using var tmp = new TempDir();
        var data = VocDetectionFormat.Read(MakeVoc(tmp), new IssueLog());
        Assert.Equal(VocDetectionFormat.VocClasses, data.ClassNames); // every name is a VOC class: VOC's order
        Assert.Equal(["train", "val"], data.Splits.Select(s => s.Name));
        var first = data.Splits[0].Images.Single();
        Assert.Equal(("000001.png", 20, 10), (first.FileName, first.Width, first.Height));
        var whole = first.Objects[0];
        Assert.Equal((11, 0f, 0f, 20f, 10f), (whole.Label, whole.X0, whole.Y0, whole.X1, whole.Y1)); // pixels 1..20 = [0, 20]
        var small = first.Objects[1];
        Assert.Equal((14, 2f, 1f, 5f, 4f, true, true), (small.Label, small.X0, small.Y0, small.X1, small.Y1, small.Difficult, small.Truncated));
        var second = data.Splits[1].Images.Single();
        Assert.Equal("000002.png", second.FileName);
        Assert.Equal((1.5f, 2f, 4f, 7.25f), (second.Objects[0].X0, second.Objects[0].Y0, second.Objects[0].X1, second.Objects[0].Y1));
    }

    [Fact]
    public void VocWriterAddsTheOneBack()
    {
        using var tmp = new TempDir();
        var root = MakeVoc(tmp);
        DetectionDatasetConverter.Convert(root, "voc", tmp.Combine("out"), "voc");
        var xml = File.ReadAllText(tmp.Combine("out", "Annotations", "000001.xml"));
        Assert.Contains("<xmin>1</xmin>", xml);
        Assert.Contains("<xmax>20</xmax>", xml);
        Assert.Contains("<difficult>1</difficult>", xml);
        Assert.Equal(VocDetectionFormat.VocClasses, File.ReadAllLines(tmp.Combine("out", "classes.txt")));
    }

    [Fact]
    public void VocErrorsNameTheFileAndObject()
    {
        using var tmp = new TempDir();
        var root = MakeVoc(tmp);
        var xml = Path.Combine(root, "Annotations", "000002.xml");
        File.WriteAllText(xml, VocXml("000002.png", 8, 8, VocObject("cat", "abc", "3", "4", "7")));
        Assert.Equal($"{xml}: object 0 (line 7): <xmin> is 'abc', not a number", Fails(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(xml, "<annotation><size><width>8</width></annotation>");
        Assert.StartsWith($"{xml}: malformed XML at line 1", Fails(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(xml, VocXml("000002.png", 8, 8, VocObject("zebra", "1", "1", "2", "2")));
        File.WriteAllLines(Path.Combine(root, "classes.txt"), ["dog", "person", "cat"]);
        Assert.Equal($"{xml}: object 0 (line 7): class 'zebra' is not in {Path.Combine(root, "classes.txt")}", Fails(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.Delete(Path.Combine(root, "JPEGImages", "000002.png"));
        File.WriteAllText(xml, VocXml("000002.png", 8, 8));
        Assert.Equal($"{xml}: image not found: no JPEGImages/000002.png nor JPEGImages/000002.*", Fails(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(Path.Combine(root, "ImageSets", "Main", "val.txt"), "000002\n000009\n");
        Assert.Equal($"{Path.Combine(root, "ImageSets", "Main", "val.txt")}: line 2: no annotation file Annotations/000009.xml",
            Fails(() => VocDetectionFormat.Read(root, new IssueLog())).Message);
    }

    // ------------------------------------------------------------------ YOLO
    static string MakeYolo(TempDir tmp, string yaml)
    {
        var root = tmp.Combine("yolo");
        DetectionTestData.Png(Path.Combine(root, "images", "train", "a.png"), 100, 50, 1);
        DetectionTestData.Png(Path.Combine(root, "images", "train", "b.png"), 10, 10, 2);
        DetectionTestData.Png(Path.Combine(root, "images", "val", "c.png"), 40, 40, 3);
        Directory.CreateDirectory(Path.Combine(root, "labels", "train"));
        Directory.CreateDirectory(Path.Combine(root, "labels", "val"));
        File.WriteAllText(Path.Combine(root, "labels", "train", "a.txt"), "1 0.5 0.5 1 1\n0 0.25 0.5 0.1 0.2\n\n");
        File.WriteAllText(Path.Combine(root, "labels", "val", "c.txt"), "2 0.1 0.1 0.2 0.1 0.2 0.3 0.15 0.35\n"); // a polygon
        File.WriteAllText(Path.Combine(root, "data.yaml"), yaml);
        return root;
    }

    [Theory]
    [InlineData("path: ../datasets/coco8  # Ultralytics' global datasets folder\ntrain: images/train\nval: images/val\nnames: [cat, dog, 'bird house']\n")]
    [InlineData("train: images/train\nval: images/val\nnc: 3\nnames:\n  0: cat\n  1: dog\n  2: bird house\n")]
    [InlineData("path: .\ntrain: [images/train]\nval: val.txt\nnames: {2: bird house, 0: cat, 1: dog}\n")]
    public void YoloDataYamlInItsUsualForms(string yaml)
    {
        using var tmp = new TempDir();
        var root = MakeYolo(tmp, yaml);
        File.WriteAllText(Path.Combine(root, "val.txt"), "./images/val/c.png\n");
        var log = new IssueLog();
        var data = YoloDetectionFormat.Read(root, log);
        Assert.Equal(["cat", "dog", "bird house"], data.ClassNames);
        Assert.Equal(["train", "val"], data.Splits.Select(s => s.Name));
        var a = data.Splits[0].Images[0];
        Assert.Equal(("a.png", 100, 50), (a.FileName, a.Width, a.Height));
        Assert.Equal((1, 0f, 0f, 100f, 50f), (a.Objects[0].Label, a.Objects[0].X0, a.Objects[0].Y0, a.Objects[0].X1, a.Objects[0].Y1));
        Assert.Equal((0, 20f, 20f, 30f, 30f), (a.Objects[1].Label, a.Objects[1].X0, a.Objects[1].Y0, a.Objects[1].X1, a.Objects[1].Y1));
        Assert.Empty(data.Splits[0].Images[1].Objects); // b.png has no label file
        Assert.Contains(log.Issues, i => i.Kind == IssueKinds.MissingLabels && i.File.EndsWith("b.txt"));
        var polygon = data.Splits[1].Images[0].Objects.Single();
        Assert.Equal((2, 4f, 4f, 8f, 14f), (polygon.Label, polygon.X0, polygon.Y0, polygon.X1, polygon.Y1));
    }

    [Fact]
    public void YoloErrorsNameTheFileAndLine()
    {
        using var tmp = new TempDir();
        var root = MakeYolo(tmp, "train: images/train\nval: images/val\nnames: [cat, dog, bird]\n");
        var yaml = Path.Combine(root, "data.yaml");
        var label = Path.Combine(root, "labels", "train", "a.txt");
        File.WriteAllText(label, "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n");
        Assert.Equal($"{label}: line 2: 4 values; a label line is 'class cx cy w h' (5 values) or a polygon 'class x1 y1 x2 y2 x3 y3 ...'",
            Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(label, "0 0.5 0.5 0.2 nan\n");
        Assert.Equal($"{label}: line 1: 'nan' is not a finite number", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(label, "3 0.5 0.5 0.2 0.2\n");
        Assert.Equal($"{label}: line 1: class 3 is not one of the 3 classes of data.yaml (0..2)", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(label, "x 0.5 0.5 0.2 0.2\n");
        Assert.Equal($"{label}: line 1: class 'x' is not a class index", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(label, "");
        File.WriteAllText(yaml, "train: images/train\nnames: [cat, dog\n");
        Assert.StartsWith($"{yaml}: malformed YAML at line 3", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(yaml, "train: images/train\nnc: 4\nnames: [cat, dog, bird]\n");
        Assert.Equal($"{yaml}: line 2: nc is 4 but names lists 3 classes", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(yaml, "train: images/train\nnames:\n  0: cat\n  2: dog\n");
        Assert.Equal($"{yaml}: line 4: the keys of 'names' must be the class indices 0..1, each once", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(yaml, "train: images/nowhere\nnames: [a]\n");
        Assert.StartsWith($"{yaml}: 'train': images/nowhere is neither a folder nor a list file", Fails(() => YoloDetectionFormat.Read(root, new IssueLog())).Message);
    }

    // ------------------------------------------------------------------ COCO
    [Fact]
    public void CocoOfficialLayoutAndErrors()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("coco");
        DetectionTestData.Png(Path.Combine(root, "val2017", "000000000139.png"), 30, 20, 1);
        var json = Path.Combine(root, "annotations", "instances_val2017.json");
        Directory.CreateDirectory(Path.GetDirectoryName(json)!);
        File.WriteAllText(json, """
            {"info": {}, "licenses": [], "images": [{"id": 139, "file_name": "000000000139.png", "width": 30, "height": 20}],
             "annotations": [{"id": 5, "image_id": 139, "category_id": 18, "bbox": [1.5, 2, 10, 4.25], "area": 30.5, "iscrowd": 0, "segmentation": [[1, 2, 3, 4, 5, 6]]},
                             {"id": 6, "image_id": 139, "category_id": 1, "bbox": [0, 0, 30, 20], "area": 600, "iscrowd": 1, "segmentation": {"size": [20, 30], "counts": [0, 600]}}],
             "categories": [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 18, "name": "dog", "supercategory": "animal"}]}
            """);
        var data = CocoDetectionFormat.Read(root, new IssueLog());
        Assert.Equal(["person", "dog"], data.ClassNames);
        Assert.Equal([1L, 18L], data.CategoryIds);
        var split = Assert.Single(data.Splits);
        Assert.Equal("val2017", split.Name);
        var image = Assert.Single(split.Images);
        Assert.Equal((139L, "000000000139.png", Path.Combine(root, "val2017", "000000000139.png")), (image.Id, image.FileName, image.Path));
        var dog = image.Objects[0];
        Assert.Equal((1, 1.5f, 2f, 11.5f, 6.25f, 30.5, false), (dog.Label, dog.X0, dog.Y0, dog.X1, dog.Y1, dog.Area, dog.IsCrowd));
        Assert.True(image.Objects[1].IsCrowd);

        File.WriteAllText(json, """{"images": [{"id": 139, "width": 30, "height": 20}], "annotations": [], "categories": []}""");
        Assert.Equal($"{json}: images[0] (id 139): no 'file_name' (a string naming the image file in {Path.Combine(root, "val2017")})",
            Fails(() => CocoDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(json, """{"images": [{"id": 1, "file_name": "gone.png", "width": 30, "height": 20}], "annotations": [], "categories": []}""");
        Assert.Equal($"{Path.Combine(root, "val2017", "gone.png")}: image file not found (images[0] (id 1) of {json})",
            Fails(() => CocoDetectionFormat.Read(root, new IssueLog())).Message);
        File.WriteAllText(json, """{"images": [{"id": 139, "file_name": "000000000139.png"}], "annotations": [{"id": 1, "image_id": 139, "category_id": 7, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}], "categories": [{"id": 1, "name": "a"}]}""");
        Assert.Equal($"{json}: annotations[0] (id 1): category_id 7 is not in 'categories'", Fails(() => CocoDetectionFormat.Read(root, new IssueLog())).Message);
    }

    [Fact]
    public void ShapesReadsAsShapesAndAsCoco()
    {
        using var tmp = new TempDir();
        ShapesDataset.Generate(tmp.Combine("s"), 6, 32, seed: 4);
        var shapes = DetectionFormats.Open(tmp.Combine("s"), "shapes");
        Assert.Equal(["circle", "square", "triangle", "star"], shapes.ClassNames);
        Assert.Equal(["train", "val"], shapes.Splits.Select(s => s.Name));
        Assert.Equal(6, shapes.Splits.Sum(s => s.Images.Count));
        var gt = PixelBox.Coco.CocoJson.ReadGroundTruth(tmp.Combine("s", "instances.json"), PixelBox.Coco.CocoIouType.Bbox);
        Assert.Equal(gt.Count, shapes.Splits.Sum(s => s.Images.Sum(i => i.Objects.Count)));
        Assert.Equal(File.ReadAllLines(tmp.Combine("s", "val.txt")), shapes.Split("val").Images.Select(i => Path.GetFileNameWithoutExtension(i.FileName)));
        Assert.Throws<InputException>(() => DetectionFormats.Open(tmp.Combine("nowhere"), "shapes"));
    }
}
