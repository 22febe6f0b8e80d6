using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using static PixelBox.Tests.Data.Segmentation.SegmentationTestData;

namespace PixelBox.Tests.Data.Segmentation;

public class SegmentationFormatTests
{
    [Fact]
    public void Voc_loads_palette_indices_as_classes_with_255_void_and_splits_from_ImageSets()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp.Combine("VOC2012"));
        var train = SegmentationFormats.Voc.Open(root, "train");
        var val = SegmentationFormats.Voc.Open(root, "val");
        Assert.Equal(["2007_000032", "2007_000039"], train.Ids);
        Assert.Equal(["2007_000063", "2007_000068"], val.Ids);
        Assert.Equal(4, SegmentationFormats.Voc.Open(root, "trainval").Count);
        Assert.Equal(21, train.ClassNames.Count);
        Assert.Equal(("background", "aeroplane", "tvmonitor"), (train.ClassNames[0], train.ClassNames[1], train.ClassNames[20]));

        foreach (var ds in new[] { train, val })
            for (int n = 0; n < ds.Count; n++)
            {
                int i = Array.FindIndex(VocSamples, s => s.Id == ds.Ids[n]);
                var (_, w, h, _) = VocSamples[i];
                var sample = ds[n];
                Assert.Equal((w, h), (sample.Width, sample.Height));
                Assert.Equal(RgbImageFile.Read(ds.ImagePath(n)).Pixels, sample.Image);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        Assert.Equal(VocValue(x, y, i), sample.Mask[y * w + x]);
            }
        Assert.Contains((byte)255, train[0].Mask);
        Assert.Contains((byte)20, train[0].Mask);
    }

    [Fact]
    public void Voc_bad_inputs_are_input_errors_naming_the_file()
    {
        using var tmp = new TempDir();
        var root = Voc(tmp.Combine("VOC2012"));
        var sets = Path.Combine(root, "ImageSets", "Segmentation");
        var masks = Path.Combine(root, "SegmentationClass");

        // an id in the split file that has an image but no mask (VOC's detection-only images)
        File.AppendAllLines(Path.Combine(sets, "train.txt"), ["2008_000001"]);
        var e = Assert.Throws<InputException>(() => SegmentationFormats.Voc.Open(root, "train"));
        Assert.StartsWith(Path.Combine(masks, "2008_000001.png") + ": mask not found", e.Message);

        // an id with neither
        File.WriteAllLines(Path.Combine(sets, "train.txt"), ["2007_000032", "2007_000039", "2009_999999"]);
        e = Assert.Throws<InputException>(() => SegmentationFormats.Voc.Open(root, "train"));
        Assert.Equal($"{Path.Combine(sets, "train.txt")}: line 3: no image JPEGImages/2009_999999.jpg nor mask SegmentationClass/2009_999999.png", e.Message);
        File.WriteAllLines(Path.Combine(sets, "train.txt"), ["2007_000032", "2007_000039"]);

        // a missing split file
        e = Assert.Throws<InputException>(() => SegmentationFormats.Voc.Open(root, "test"));
        Assert.Equal($"{Path.Combine(sets, "test.txt")}: split file not found", e.Message);

        // a mask of another size
        var mask = Path.Combine(masks, "2007_000032.png");
        PaletteMask(mask, 15, 12, new byte[15 * 12]);
        e = Assert.Throws<InputException>(() => SegmentationFormats.Voc.Open(root, "train"));
        Assert.Equal($"{mask}: mask is 15x12 but its image {Path.Combine(root, "JPEGImages", "2007_000032.jpg")} is 16x12", e.Message);

        // a value that is no VOC class: found when the sample is read
        PaletteMask(mask, 16, 12, Values(16, 12, (x, y) => x == 5 && y == 2 ? 21 : 0));
        var ds = SegmentationFormats.Voc.Open(root, "train");
        e = Assert.Throws<InputException>(() => ds[0]);
        Assert.StartsWith($"{mask}: label 21 at pixel (5, 2) is not one of VOC's 21 classes", e.Message);

        // a corrupt PNG: its header reads, its pixel data does not
        PaletteMask(mask, 16, 12, Values(16, 12, (x, y) => x % 3));
        var bytes = File.ReadAllBytes(mask);
        bytes[^20] ^= 0xFF; // inside the IDAT chunk: its CRC no longer matches
        File.WriteAllBytes(mask, bytes);
        ds = SegmentationFormats.Voc.Open(root, "train");
        e = Assert.Throws<InputException>(() => ds[0]);
        Assert.StartsWith($"{mask}: corrupt PNG", e.Message);

        // not a PNG at all: the header does not read when opening
        File.WriteAllText(mask, "not a png");
        e = Assert.Throws<InputException>(() => SegmentationFormats.Voc.Open(root, "train"));
        Assert.StartsWith(mask + ": ", e.Message);
    }

    [Fact]
    public void Cityscapes_maps_label_ids_to_the_19_train_ids_and_everything_else_to_255()
    {
        using var tmp = new TempDir();
        var root = Cityscapes(tmp.Combine("cityscapes"));
        var train = SegmentationFormats.Cityscapes.Open(root, "train");
        var val = SegmentationFormats.Cityscapes.Open(root, "val");
        Assert.Equal(["aachen_000000_000019", "aachen_000001_000019", "bochum_000000_000313"], train.Ids);
        Assert.Equal(["frankfurt_000000_000294"], val.Ids);
        Assert.Equal(19, train.ClassNames.Count);
        Assert.Equal(("road", "car", "bicycle"), (train.ClassNames[0], train.ClassNames[13], train.ClassNames[18]));
        Assert.Equal(["train", "val"], SegmentationFormats.Cityscapes.Splits(root));

        foreach (var ds in new[] { train, val })
            for (int n = 0; n < ds.Count; n++)
            {
                int i = Array.FindIndex(CityscapesSamples, s => s.Id == ds.Ids[n]);
                var (_, _, _, w, h) = CityscapesSamples[i];
                var labelIds = Values(w, h, (x, y) => CityscapesId(x, y, i));
                Assert.Equal(TrainIds(labelIds), ds[n].Mask);
            }
        // the ids the issue names: 7 road -> 0, 26 car -> 13, 0 unlabeled -> 255 (pixel (x, y) of sample 0 holds (7x + 3y) % 34)
        var first = train[0].Mask;
        Assert.Equal(0, first[Index(16, 1, 0)]);    // 7*1 + 0 = 7 road
        Assert.Equal(13, first[Index(16, 2, 4)]);   // 14 + 12 = 26 car
        Assert.Equal(255, first[Index(16, 0, 0)]);  // 0 unlabeled
        Assert.Equal(255, first[Index(16, 3, 3)]);  // 21 + 9 = 30 trailer (not trained on)
    }

    static int Index(int w, int x, int y) => y * w + x;

    [Fact]
    public void Cityscapes_bad_inputs_are_input_errors_naming_the_file()
    {
        using var tmp = new TempDir();
        var root = Cityscapes(tmp.Combine("cityscapes"));
        var gt = Path.Combine(root, "gtFine", "train", "aachen", "aachen_000000_000019_gtFine_labelIds.png");

        GreyMask(gt, 16, 8, Values(16, 8, (x, y) => x == 4 && y == 6 ? 34 : 7));
        var ds = SegmentationFormats.Cityscapes.Open(root, "train");
        var e = Assert.Throws<InputException>(() => ds[0]);
        Assert.StartsWith($"{gt}: label 34 at pixel (4, 6) is not a Cityscapes label id", e.Message);

        File.Delete(gt);
        e = Assert.Throws<InputException>(() => SegmentationFormats.Cityscapes.Open(root, "train"));
        var image = Path.Combine(root, "leftImg8bit", "train", "aachen", "aachen_000000_000019_leftImg8bit.png");
        Assert.Equal($"{image}: image has no label ids (expected {gt})", e.Message);

        e = Assert.Throws<InputException>(() => SegmentationFormats.Cityscapes.Open(root, "test"));
        Assert.StartsWith(Path.Combine(root, "leftImg8bit", "test") + ": folder not found", e.Message);
    }

    /// <summary>
    /// A COCO split file in the 2017 naming (instances_train2017.json, images in train2017/) with dog (id 18) listed
    /// before car (id 3): labels are 1 car, 2 dog by id. On image a: a dog (RLE), a car (polygon) over it, a crowd
    /// over both, a dog over the crowd; image b has no annotations (all background).
    /// </summary>
    static string Coco(TempDir tmp, Action<JsonObject>? edit = null)
    {
        var root = tmp.Combine("coco");
        Image(Path.Combine(root, "train2017", "a.png"), 20, 16, 1);
        Image(Path.Combine(root, "train2017", "b.png"), 8, 8, 2);
        var json = new JsonObject
        {
            ["images"] = new JsonArray(
                new JsonObject { ["id"] = 10, ["file_name"] = "a.png", ["width"] = 20, ["height"] = 16 },
                new JsonObject { ["id"] = 11, ["file_name"] = "b.png", ["width"] = 8, ["height"] = 8 }),
            ["categories"] = new JsonArray(
                new JsonObject { ["id"] = 18, ["name"] = "dog" },
                new JsonObject { ["id"] = 3, ["name"] = "car" }),
            ["annotations"] = new JsonArray(
                Annotation(1, 18, new JsonObject { ["size"] = new JsonArray(16, 20), ["counts"] = RectangleCounts(20, 16, 1, 1, 9, 9) }),
                Annotation(2, 3, new JsonArray(new JsonArray(6, 4, 14, 4, 14, 12, 6, 12))),
                Annotation(3, 18, new JsonObject { ["size"] = new JsonArray(16, 20), ["counts"] = RectangleCounts(20, 16, 12, 2, 18, 14) }, crowd: true),
                Annotation(4, 18, new JsonObject { ["size"] = new JsonArray(16, 20), ["counts"] = RectangleCounts(20, 16, 16, 0, 20, 4) })),
        };
        edit?.Invoke(json);
        Directory.CreateDirectory(Path.Combine(root, "annotations"));
        File.WriteAllText(Path.Combine(root, "annotations", "instances_train2017.json"), json.ToJsonString());
        return root;
    }

    static JsonObject Annotation(int id, int category, JsonNode segmentation, bool crowd = false) => new()
    {
        ["id"] = id, ["image_id"] = 10, ["category_id"] = category, ["segmentation"] = segmentation,
        ["bbox"] = new JsonArray(0, 0, 1, 1), ["area"] = 1, ["iscrowd"] = crowd ? 1 : 0,
    };

    [Fact]
    public void Coco_instances_become_semantic_masks_painted_in_file_order_with_crowds_ignored()
    {
        using var tmp = new TempDir();
        var root = Coco(tmp);
        var ds = SegmentationFormats.Coco.Open(root, "train");
        Assert.Equal(["background", "car", "dog"], ds.ClassNames);
        Assert.Equal(["a", "b"], ds.Ids);

        // the expected mask, painted here: rectangles by their pixel ranges, the polygon by the pycocotools-exact
        // rasteriser that the COCO evaluation tests check
        const int w = 20, h = 16;
        var expected = new byte[w * h];
        void Rect(int x0, int y0, int x1, int y1, byte label)
        {
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++)
                    expected[y * w + x] = label;
        }
        Rect(1, 1, 9, 9, 2);
        var car = RleCodec.Decode(RleOps.FromPolygons([[6, 4, 14, 4, 14, 12, 6, 12]], h, w)); // column-major
        for (int x = 0; x < w; x++)
            for (int y = 0; y < h; y++)
                if (car[x * h + y] == 1) expected[y * w + x] = 1;
        Rect(12, 2, 18, 14, 255);
        Rect(16, 0, 20, 4, 2);
        Assert.Equal(expected, ds[0].Mask);
        Assert.Equal(new byte[64], ds[1].Mask);
        // every kind of pixel is there: background, both classes, ignore
        Assert.Equal(new[] { 0, 1, 2, 255 }, ds[0].Mask.Distinct().Order().Select(v => (int)v));
    }

    [Fact]
    public void Coco_bad_inputs_are_input_errors_naming_the_file()
    {
        using var tmp = new TempDir();
        var root = Coco(tmp, json => json["annotations"]!.AsArray().Add(Annotation(5, 99, new JsonArray(new JsonArray(0, 0, 4, 0, 4, 4)))));
        var file = Path.Combine(root, "annotations", "instances_train2017.json");
        var e = Assert.Throws<InputException>(() => SegmentationFormats.Coco.Open(root, "train"));
        Assert.Equal($"{file}: annotations[4] (id 5): category_id 99 is not in 'categories'", e.Message);

        using var tmp2 = new TempDir();
        root = Coco(tmp2, json => json["images"]![0]!["width"] = 21);
        e = Assert.Throws<InputException>(() => SegmentationFormats.Coco.Open(root, "train"));
        Assert.Equal($"{Path.Combine(root, "train2017", "a.png")}: image is 20x16 but {Path.Combine(root, "annotations", "instances_train2017.json")} says 21x16", e.Message);

        using var tmp3 = new TempDir();
        root = Coco(tmp3, json => json["annotations"]![0]!["segmentation"]!["size"] = new JsonArray(16, 21));
        var ds = SegmentationFormats.Coco.Open(root, "train");
        e = Assert.Throws<InputException>(() => ds[0]);
        Assert.StartsWith($"{Path.Combine(root, "annotations", "instances_train2017.json")}: annotations[0] (id 1): ", e.Message);

        e = Assert.Throws<InputException>(() => SegmentationFormats.Coco.Open(root, "val"));
        Assert.StartsWith(Path.Combine(root, "annotations", "instances_val.json") + ": not found", e.Message);
    }
}
