using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Masks;
using SkiaSharp;

namespace PixelBox.Tests.Data;

public class MaskFolderDatasetTests
{
    /// <summary>A hand-made folder: images/&lt;id&gt;.png + masks/&lt;id&gt;.png of the given sizes and labels.</summary>
    static void WritePair(string root, string id, int w, int h, Func<int, int, byte> label, int maskW = -1, int maskH = -1)
    {
        maskW = maskW < 0 ? w : maskW;
        maskH = maskH < 0 ? h : maskH;
        var px = new byte[w * h * 3];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(i * 7);
        RgbImageFile.WritePng(Path.Combine(root, "images", id + ".png"), new RgbImage(w, h, px));
        var m = new byte[maskW * maskH];
        for (int y = 0; y < maskH; y++)
            for (int x = 0; x < maskW; x++)
                m[y * maskW + x] = label(x, y);
        IndexMaskPng.Write(Path.Combine(root, "masks", id + ".png"), new IndexMask(maskW, maskH, m));
    }

    static string NewFolder(TempDir tmp, string name = "ds")
    {
        var root = tmp.Combine(name);
        Directory.CreateDirectory(Path.Combine(root, "images"));
        Directory.CreateDirectory(Path.Combine(root, "masks"));
        return root;
    }

    [Fact]
    public void OpensTheGeneratedShapesWithItsSplitsAndClasses()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("shapes");
        ShapesDataset.Generate(root, 10, 32, seed: 2);
        var train = MaskFolderDataset.Open(root, "train");
        var val = MaskFolderDataset.Open(root, "val");
        var all = MaskFolderDataset.Open(root);
        Assert.Equal((8, 2, 10), (train.Count, val.Count, all.Count));
        Assert.Equal(File.ReadAllLines(Path.Combine(root, "val.txt")), val.Ids);
        Assert.Equal(ShapesDataset.ClassNames, train.ClassNames);
        Assert.Equal(root, train.Root);

        foreach (var sample in val)
        {
            var scene = ShapesDataset.Render(32, 2, int.Parse(sample.Id) - 1);
            Assert.Equal((32, 32), (sample.Width, sample.Height));
            Assert.Equal(scene.Image.Pixels, sample.Image);
            Assert.Equal(scene.Mask.Pixels, sample.Mask);
        }
        Assert.Same(val[1], val[1]); // decoded once, then cached
    }

    [Fact]
    public void WithoutTheCacheSamplesAreDecodedAgain()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp);
        WritePair(root, "a", 5, 4, (x, y) => 1);
        var ds = MaskFolderDataset.Open(root, cacheBytes: 0);
        Assert.NotSame(ds[0], ds[0]);
        Assert.Equal(ds[0].Image, ds[0].Image);
    }

    [Fact]
    public void AcceptsJpegImagesAndFoldersWithoutSplitOrClassFiles()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp);
        WritePair(root, "b", 6, 5, (x, y) => (byte)(x % 4));
        using (var bitmap = new SKBitmap(new SKImageInfo(8, 3, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            bitmap.Erase(new SKColor(120, 60, 30));
            using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
            File.WriteAllBytes(Path.Combine(root, "images", "a.JPG"), data.ToArray());
        }
        IndexMaskPng.Write(Path.Combine(root, "masks", "a.png"), new IndexMask(8, 3, [0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        File.WriteAllText(Path.Combine(root, "images", "notes.txt"), "ignored: not an image extension");

        var ds = MaskFolderDataset.Open(root);
        Assert.Equal(["a", "b"], ds.Ids);
        Assert.Equal((8, 3), (ds[0].Width, ds[0].Height));
        Assert.InRange(ds[0].Image[0], 110, 130);
        // No classes.txt: numbered up to the largest label in any mask, 255 (ignore) excluded.
        Assert.Equal(["class 0", "class 1", "class 2", "class 3"], ds.ClassNames);
    }

    [Fact]
    public void PairingErrorsNameTheOrphanFile()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp, "orphan-mask");
        WritePair(root, "a", 4, 4, (x, y) => 0);
        IndexMaskPng.Write(Path.Combine(root, "masks", "b.png"), new IndexMask(1, 1, [0]));
        var e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.StartsWith(Path.Combine(root, "masks", "b.png") + ": mask has no image", e.Message);

        root = NewFolder(tmp, "orphan-image");
        WritePair(root, "a", 4, 4, (x, y) => 0);
        File.Copy(Path.Combine(root, "images", "a.png"), Path.Combine(root, "images", "c.png"));
        e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.StartsWith(Path.Combine(root, "images", "c.png") + ": image has no mask", e.Message);

        root = NewFolder(tmp, "twice");
        WritePair(root, "a", 4, 4, (x, y) => 0);
        File.Copy(Path.Combine(root, "images", "a.png"), Path.Combine(root, "images", "a.jpg"));
        e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.Contains("two files with the id 'a'", e.Message);

        e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(tmp.Combine("missing")));
        Assert.Equal($"{tmp.Combine("missing")}: dataset folder not found", e.Message);
        Directory.CreateDirectory(tmp.Combine("no-masks", "images"));
        e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(tmp.Combine("no-masks")));
        Assert.StartsWith(tmp.Combine("no-masks", "masks") + ": folder not found", e.Message);
    }

    [Fact]
    public void SizeMismatchIsReportedWhenOpening()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp);
        WritePair(root, "a", 6, 4, (x, y) => 0, maskW: 6, maskH: 5);
        var e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.Equal($"{Path.Combine(root, "masks", "a.png")}: mask is 6x5 but its image {Path.Combine(root, "images", "a.png")} is 6x4", e.Message);
    }

    [Fact]
    public void CorruptImagesFailOnOpenOrOnReadNamingTheFile()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp, "garbage");
        WritePair(root, "a", 6, 4, (x, y) => 0);
        File.WriteAllText(Path.Combine(root, "images", "a.png"), "not a png");
        var e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root));
        Assert.StartsWith(Path.Combine(root, "images", "a.png") + ": not a readable image", e.Message);

        root = NewFolder(tmp, "truncated");
        WritePair(root, "a", 30, 30, (x, y) => 0);
        var path = Path.Combine(root, "images", "a.png");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ds = MaskFolderDataset.Open(root); // the header is fine
        e = Assert.Throws<InputException>(() => ds[0]);
        Assert.StartsWith(path + ": corrupt image", e.Message);
    }

    [Fact]
    public void SplitFileErrors()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp);
        WritePair(root, "a", 4, 4, (x, y) => 0);
        var e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root, "train"));
        Assert.Equal($"{Path.Combine(root, "train.txt")}: split file not found", e.Message);

        File.WriteAllText(Path.Combine(root, "val.txt"), "a\n\nzz\n");
        e = Assert.Throws<InputException>(() => MaskFolderDataset.Open(root, "val"));
        Assert.Equal($"{Path.Combine(root, "val.txt")}: line 3: no image/mask pair with id 'zz'", e.Message);
    }

    [Fact]
    public void LabelsBeyondClassesTxtAreRejectedExceptIgnore()
    {
        using var tmp = new TempDir();
        var root = NewFolder(tmp);
        WritePair(root, "ok", 4, 4, (x, y) => x == 0 ? (byte)255 : (byte)(y % 3));
        WritePair(root, "bad", 4, 4, (x, y) => x == 2 && y == 1 ? (byte)3 : (byte)0);
        File.WriteAllText(Path.Combine(root, "classes.txt"), "background\ncat\ndog\n");
        var ds = MaskFolderDataset.Open(root);
        Assert.Equal(["background", "cat", "dog"], ds.ClassNames);
        Assert.Equal(255, ds[1].Mask[0]); // "ok" sorts after "bad"
        var e = Assert.Throws<InputException>(() => ds[0]);
        Assert.Equal($"{Path.Combine(root, "masks", "bad.png")}: label 3 at pixel (2, 1) is not one of the 3 classes in classes.txt (labels 0..2, 255 = ignore)", e.Message);
    }
}
