using PixelBox.Data;

namespace PixelBox.Tests.Data.Detection;

/// <summary>
/// The round-trip matrix: for every pair of writable formats A, B (A = B included), a random dataset written as A,
/// converted A -> B -> A, reads back with everything that both A and B carry unchanged: class names, split names,
/// image file names and sizes, and per object the label and the four float corners bit for bit; flags, areas and
/// ids where both formats hold them; crowd objects only where B holds them. Converting again is a fixed point:
/// A -> B -> A -> B gives B's files byte for byte, and -> A again A's.
/// </summary>
public class DetectionRoundTripTests
{
    public static TheoryData<string, string, int> Pairs()
    {
        var data = new TheoryData<string, string, int>();
        int seed = 0;
        foreach (var a in new[] { "coco", "voc", "yolo" })
            foreach (var b in new[] { "coco", "voc", "yolo" })
                data.Add(a, b, ++seed);
        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void ConvertingThereAndBackLosesOnlyWhatTheOtherFormatCannotHold(string from, string to, int seed)
    {
        using var tmp = new TempDir();
        var a = DetectionFormats.Get(from);
        var b = DetectionFormats.Get(to);
        var original = DetectionTestData.Random(tmp.Combine("source-images"), seed, a.Carries);
        Directory.CreateDirectory(tmp.Combine("a1"));
        a.Write!(original, tmp.Combine("a1"), ImageTransfer.Copy);
        var m1 = a.Read(tmp.Combine("a1"), new IssueLog());
        AssertSameDataset(original, m1, a.Carries, a.Carries, ignoreCrowd: false);

        DetectionDatasetConverter.Convert(tmp.Combine("a1"), from, tmp.Combine("b1"), to);
        DetectionDatasetConverter.Convert(tmp.Combine("b1"), to, tmp.Combine("a2"), from);
        var m2 = a.Read(tmp.Combine("a2"), new IssueLog());
        AssertSameDataset(m1, m2, a.Carries, b.Carries, ignoreCrowd: !b.Carries.Crowd);

        DetectionDatasetConverter.Convert(tmp.Combine("a2"), from, tmp.Combine("b2"), to);
        DetectionTestData.AssertSameFiles(tmp.Combine("b1"), tmp.Combine("b2"));
        DetectionDatasetConverter.Convert(tmp.Combine("b2"), to, tmp.Combine("a3"), from);
        DetectionTestData.AssertSameFiles(tmp.Combine("a2"), tmp.Combine("a3"));
    }

    /// <summary><paramref name="actual"/> holds what <paramref name="expected"/> holds, as far as both formats carry it.</summary>
    static void AssertSameDataset(DetectionDataset expected, DetectionDataset actual, FormatCarries a, FormatCarries b, bool ignoreCrowd)
    {
        Assert.Equal(expected.ClassNames, actual.ClassNames);
        if (a.CategoryIds && b.CategoryIds) Assert.Equal(expected.CategoryIds, actual.CategoryIds);
        Assert.Equal(expected.Splits.Select(s => s.Name), actual.Splits.Select(s => s.Name));
        for (int s = 0; s < expected.Splits.Count; s++)
        {
            var e = expected.Splits[s].Images.OrderBy(i => i.FileName, StringComparer.Ordinal).ToArray();
            var g = actual.Splits[s].Images.OrderBy(i => i.FileName, StringComparer.Ordinal).ToArray();
            Assert.Equal(e.Select(i => (i.FileName, i.Width, i.Height)), g.Select(i => (i.FileName, i.Width, i.Height)));
            for (int i = 0; i < e.Length; i++)
            {
                if (a.ImageIds && b.ImageIds) Assert.Equal(e[i].Id, g[i].Id);
                Assert.Equal(File.ReadAllBytes(e[i].Path), File.ReadAllBytes(g[i].Path));
                var eo = e[i].Objects.Where(o => !(ignoreCrowd && o.IsCrowd)).ToArray();
                var go = g[i].Objects;
                Assert.Equal(eo.Length, go.Count);
                for (int k = 0; k < eo.Length; k++)
                {
                    string what = $"{e[i].FileName} object {k}";
                    Assert.True((eo[k].Label, eo[k].X0, eo[k].Y0, eo[k].X1, eo[k].Y1) == (go[k].Label, go[k].X0, go[k].Y0, go[k].X1, go[k].Y1),
                        $"{what}: {eo[k]} became {go[k]}");
                    if (a.Crowd && b.Crowd) Assert.Equal(eo[k].IsCrowd, go[k].IsCrowd);
                    if (a.Difficult && b.Difficult) Assert.Equal(eo[k].Difficult, go[k].Difficult);
                    if (a.Truncated && b.Truncated) Assert.Equal(eo[k].Truncated, go[k].Truncated);
                    if (a.Area && b.Area) Assert.Equal(eo[k].Area, go[k].Area);
                }
            }
        }
    }

    [Fact]
    public void CocoSplitNamesSurviveYoloThroughItsImageFolders()
    {
        using var tmp = new TempDir();
        var original = DetectionTestData.Random(tmp.Combine("src"), 77, DetectionFormats.Coco.Carries, ["train2017", "val2017"]);
        Directory.CreateDirectory(tmp.Combine("coco"));
        CocoDetectionFormat.Write(original, tmp.Combine("coco"), ImageTransfer.Copy);
        DetectionDatasetConverter.Convert(tmp.Combine("coco"), "coco", tmp.Combine("yolo"), "yolo");
        Assert.Equal("train: images/train2017\nval: images/val2017\n", string.Concat(File.ReadAllLines(tmp.Combine("yolo", "data.yaml")).Take(2).Select(l => l + "\n")));
        DetectionDatasetConverter.Convert(tmp.Combine("yolo"), "yolo", tmp.Combine("back"), "coco");
        Assert.True(File.Exists(tmp.Combine("back", "annotations", "instances_train2017.json")));
        Assert.True(File.Exists(tmp.Combine("back", "annotations", "instances_val2017.json")));
    }
}
