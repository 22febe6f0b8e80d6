using System.Text.Json;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Tests.Data;

public class ShapesDatasetTests
{
    static string[] RelativeFiles(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void SameSeedGivesIdenticalFilesAndAnotherSeedDifferentImages()
    {
        using var tmp = new TempDir();
        string a = tmp.Combine("a"), b = tmp.Combine("b"), c = tmp.Combine("c");
        ShapesDataset.Generate(a, 6, 48, seed: 5);
        ShapesDataset.Generate(b, 6, 48, seed: 5);
        ShapesDataset.Generate(c, 6, 48, seed: 6);

        var files = RelativeFiles(a);
        Assert.Equal(6 * 2 + 4, files.Length);
        Assert.Equal(files, RelativeFiles(b));
        foreach (var f in files)
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(b, f)));
        foreach (var f in files.Where(f => f.StartsWith("images")))
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, f)), File.ReadAllBytes(Path.Combine(c, f)));
        // Nothing left behind beside the output (the staging folder is renamed into place).
        Assert.Equal(3, Directory.GetFileSystemEntries(tmp.Path).Length);
    }

    [Fact]
    public void FilesHoldRenderOfEachImageNumber()
    {
        using var tmp = new TempDir();
        ShapesDataset.Generate(tmp.Combine("d"), 5, 40, seed: 9);
        for (int i = 0; i < 5; i++)
        {
            var scene = ShapesDataset.Render(40, 9, i);
            var stem = (i + 1).ToString("D6");
            // Decoded by SkiaSharp: also checks our RGB PNG encoder against an independent decoder.
            var image = RgbImageFile.Read(tmp.Combine("d", "images", stem + ".png"));
            Assert.Equal((40, 40), (image.Width, image.Height));
            Assert.Equal(scene.Image.Pixels, image.Pixels);
            Assert.Equal(scene.Mask.Pixels, IndexMaskPng.Read(tmp.Combine("d", "masks", stem + ".png")).Pixels);
        }
        Assert.Equal(ShapesDataset.ClassNames, File.ReadAllLines(tmp.Combine("d", "classes.txt")));
    }

    [Fact]
    public void MaskIsTheTopmostShapeAtEachPixelCentreAndShapesKeepHalfTheirPixels()
    {
        const int size = 64;
        for (int index = 0; index < 16; index++)
        {
            var scene = ShapesDataset.Render(size, 21, index);
            var owners = Reference.Owners(scene.Shapes.Select(s => s.Polygon).ToList(), size, size);
            for (int p = 0; p < owners.Length; p++)
                Assert.Equal(owners[p] == 0 ? 0 : scene.Shapes[owners[p] - 1].Label, scene.Mask.Pixels[p]);

            for (int k = 0; k < scene.Shapes.Count; k++)
            {
                var full = Reference.Owners([scene.Shapes[k].Polygon], size, size).Count(o => o != 0);
                var visible = owners.Count(o => o == k + 1);
                Assert.True(full > 0 && visible >= 0.5 * full, $"image {index} shape {k}: {visible} of {full} pixels visible");
            }
        }
    }

    [Fact]
    public void ShapePixelsHaveTheShapeColourAndTheirSurroundingsMostlyDoNot()
    {
        // Inside a shape a pixel is its colour +- 20 shading +- 16 noise (+ rounding); outside it is an
        // independent background, so the mask's edges are the image's edges.
        const int size = 64, bound = 37;
        int ring = 0, ringLikeShape = 0;
        for (int index = 0; index < 16; index++)
        {
            var scene = ShapesDataset.Render(size, 33, index);
            var owners = Reference.Owners(scene.Shapes.Select(s => s.Polygon).ToList(), size, size);
            var px = scene.Image.Pixels;
            bool Near(int p, byte[] colour) => Enumerable.Range(0, 3).All(c => Math.Abs(px[3 * p + c] - colour[c]) <= bound);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    int p = y * size + x, o = owners[p];
                    if (o != 0)
                    {
                        Assert.True(Near(p, scene.Shapes[o - 1].Colour), $"image {index} pixel ({x},{y}) is not shape {o - 1}'s colour");
                        continue;
                    }
                    foreach (var (dx, dy) in new[] { (1, 0), (-1, 0), (0, 1), (0, -1) })
                    {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= size || ny >= size || owners[ny * size + nx] == 0) continue;
                        ring++;
                        if (Near(p, scene.Shapes[owners[ny * size + nx] - 1].Colour)) ringLikeShape++;
                    }
                }
        }
        Assert.True(ring > 1000);
        Assert.True(ringLikeShape < 0.1 * ring, $"{ringLikeShape} of {ring} background pixels next to a shape look like it");
    }

    [Fact]
    public void EveryClassAppearsAndImagesHoldTwoToSixShapes()
    {
        var labelsInMasks = new HashSet<int>();
        var counts = new List<int>();
        for (int index = 0; index < 60; index++)
        {
            var scene = ShapesDataset.Render(48, 4, index);
            counts.Add(scene.Shapes.Count);
            foreach (var v in scene.Mask.Pixels) labelsInMasks.Add(v);
        }
        Assert.Equal([0, 1, 2, 3, 4], labelsInMasks.Order());
        Assert.InRange(counts.Min(), 2, 6);
        Assert.InRange(counts.Max(), 2, 6);
        Assert.True(counts.Average() > 3, $"mean {counts.Average()} shapes per image");
    }

    [Fact]
    public void ColourDistributionIsTheSameForEveryClass()
    {
        var byClass = Enumerable.Range(0, 5).Select(_ => new List<byte[]>()).ToArray();
        for (int index = 0; index < 400; index++)
            foreach (var s in ShapesDataset.Render(16, 8, index).Shapes)
                byClass[s.Label].Add(s.Colour);
        for (int c = 0; c < 3; c++)
        {
            var means = Enumerable.Range(1, 4).Select(k => byClass[k].Average(col => col[c])).ToArray();
            Assert.True(means.Max() - means.Min() < 20, $"channel {c} class means {string.Join(", ", means)}");
        }
        Assert.All(byClass.Skip(1), list => Assert.True(list.Count > 200));
    }

    [Fact]
    public void InstancesJsonIsValidCocoAndItsPolygonsReproduceTheMasks()
    {
        using var tmp = new TempDir();
        const int size = 56, count = 8;
        var root = tmp.Combine("coco");
        ShapesDataset.Generate(root, count, size, seed: 12);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "instances.json")));
        var json = doc.RootElement;

        var categories = json.GetProperty("categories").EnumerateArray()
            .ToDictionary(c => c.GetProperty("id").GetInt32(), c => c.GetProperty("name").GetString());
        Assert.Equal(new Dictionary<int, string?> { [1] = "circle", [2] = "square", [3] = "triangle", [4] = "star" }, categories);

        var images = json.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(count, images.Count);
        var fileById = new Dictionary<int, string>();
        foreach (var im in images)
        {
            fileById.Add(im.GetProperty("id").GetInt32(), im.GetProperty("file_name").GetString()!); // ids unique
            Assert.Equal(size, im.GetProperty("width").GetInt32());
            Assert.Equal(size, im.GetProperty("height").GetInt32());
            Assert.True(File.Exists(Path.Combine(root, "images", fileById.Last().Value)));
        }

        var annotationIds = new HashSet<int>();
        var polygonsByImage = fileById.Keys.ToDictionary(id => id, _ => new List<(int Id, int Label, double[] Polygon)>());
        foreach (var a in json.GetProperty("annotations").EnumerateArray())
        {
            int id = a.GetProperty("id").GetInt32();
            Assert.True(annotationIds.Add(id), $"annotation id {id} repeated");
            int imageId = a.GetProperty("image_id").GetInt32();
            Assert.True(fileById.ContainsKey(imageId));
            int label = a.GetProperty("category_id").GetInt32();
            Assert.InRange(label, 1, 4);
            Assert.Equal(0, a.GetProperty("iscrowd").GetInt32());
            var segmentation = a.GetProperty("segmentation").EnumerateArray().ToList();
            Assert.Single(segmentation);
            var xy = segmentation[0].EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.True(xy.Length >= 6 && xy.Length % 2 == 0);
            Assert.All(xy, v => Assert.InRange(v, 0, size));

            double minX = xy.Where((_, i) => i % 2 == 0).Min(), maxX = xy.Where((_, i) => i % 2 == 0).Max();
            double minY = xy.Where((_, i) => i % 2 == 1).Min(), maxY = xy.Where((_, i) => i % 2 == 1).Max();
            var bbox = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(minX, bbox[0], 1e-9);
            Assert.Equal(minY, bbox[1], 1e-9);
            Assert.Equal(maxX - minX, bbox[2], 0.006);
            Assert.Equal(maxY - minY, bbox[3], 0.006);
            Assert.True(bbox[2] > 0 && bbox[3] > 0 && bbox[0] + bbox[2] <= size + 0.01 && bbox[1] + bbox[3] <= size + 0.01);

            // area = the polygon's shoelace area, which is also close to its pixel count (within about the perimeter).
            double twice = 0, perimeter = 0;
            for (int i = 0, j = xy.Length / 2 - 1; i < xy.Length / 2; j = i++)
            {
                twice += xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
                perimeter += Math.Sqrt(Math.Pow(xy[2 * i] - xy[2 * j], 2) + Math.Pow(xy[2 * i + 1] - xy[2 * j + 1], 2));
            }
            double area = a.GetProperty("area").GetDouble();
            Assert.True(area > 0);
            Assert.Equal(Math.Abs(twice) / 2, area, 0.006);
            int pixels = Reference.Owners([xy], size, size).Count(o => o != 0);
            Assert.True(Math.Abs(pixels - area) <= perimeter / 2 + 2, $"annotation {id}: {pixels} pixels vs area {area}");

            polygonsByImage[imageId].Add((id, label, xy));
        }

        // Annotations are in paint order, so painting their full polygons in id order gives the index mask.
        foreach (var (imageId, anns) in polygonsByImage)
        {
            Assert.InRange(anns.Count, 2, 6);
            var ordered = anns.OrderBy(x => x.Id).ToList();
            var owners = Reference.Owners(ordered.Select(x => x.Polygon).ToList(), size, size);
            var mask = IndexMaskPng.Read(Path.Combine(root, "masks", fileById[imageId]));
            for (int p = 0; p < owners.Length; p++)
                Assert.Equal(owners[p] == 0 ? 0 : ordered[owners[p] - 1].Label, mask.Pixels[p]);
        }
    }

    [Fact]
    public void SplitFilesPartitionTheIds()
    {
        using var tmp = new TempDir();
        ShapesDataset.Generate(tmp.Combine("s"), 11, 16, seed: 1, valFraction: 0.3);
        var train = File.ReadAllLines(tmp.Combine("s", "train.txt"));
        var val = File.ReadAllLines(tmp.Combine("s", "val.txt"));
        Assert.Equal(3, val.Length); // round(11 * 0.3)
        Assert.Empty(train.Intersect(val));
        Assert.Equal(Enumerable.Range(1, 11).Select(i => i.ToString("D6")), train.Concat(val).Order(StringComparer.Ordinal));

        ShapesDataset.Generate(tmp.Combine("all"), 4, 16, seed: 1, valFraction: 0);
        Assert.Equal(4, File.ReadAllLines(tmp.Combine("all", "train.txt")).Length);
        Assert.Empty(File.ReadAllLines(tmp.Combine("all", "val.txt")));
    }

    [Fact]
    public void RefusesANonEmptyFolderAndReportsProgress()
    {
        using var tmp = new TempDir();
        var dir = tmp.Combine("taken");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "keep.txt"), "mine");
        var e = Assert.Throws<InputException>(() => ShapesDataset.Generate(dir, 2, 16, 0));
        Assert.Contains("not empty", e.Message);
        Assert.StartsWith(dir, e.Message);
        Assert.Equal(["keep.txt"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));

        var empty = tmp.Combine("empty");
        Directory.CreateDirectory(empty);
        var reports = new List<int>();
        ShapesDataset.Generate(empty, 7, 16, 0, progress: new SyncProgress(reports));
        Assert.Equal(Enumerable.Range(1, 7), reports);
        Assert.Equal(2, Directory.GetFileSystemEntries(tmp.Path).Length);
    }

    sealed class SyncProgress(List<int> reports) : IProgress<int>
    {
        public void Report(int value) { lock (reports) reports.Add(value); }
    }
}
