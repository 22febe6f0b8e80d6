using PixelBox.Coco;
using PixelBox.Data;
using PixelBox.Inference;
using PixelBox.Models;

namespace PixelBox.Tests.Inference;

public class DetectionCocoTests
{
    static readonly DetectionImage[] Images =
    [
        new(7, "a.png", "/x/a.png", 40, 30, [new DetectionObject(0, 1.25f, 2.5f, 10.1f, 20.3f), new DetectionObject(1, 0, 0, 40, 30) { IsCrowd = true, Area = 500 }]),
        new(9, "sub/b.png", "/x/sub/b.png", 20, 20, []),
    ];

    [Fact]
    public void WrittenResultsReadBackAsExactlyTheInMemoryOnes()
    {
        var detections = new[]
        {
            new ImageDetections([new DetectedObject(0.1f, 1.7f, 12.3333f, 9.99f, 0.87654f, 1), new DetectedObject(3, 4, 5, 6, 0.001f, 0)]),
            new ImageDetections([new DetectedObject(1e-3f, 2, 19.99999f, 20, 0.5f, 0)]),
        };
        long Category(int label) => 10 + label;
        var memory = DetectionCoco.Results([7, 9], detections, Category);
        var path = Path.Combine(Path.GetTempPath(), $"dt-{Guid.NewGuid():N}.json");
        using (var stream = File.Create(path))
            DetectionCoco.WriteResults(stream, [7, 9], detections, Category);
        var read = CocoJson.ReadDetections(path, CocoIouType.Bbox);
        File.Delete(path);
        Assert.Equal(memory.ImageId, read.ImageId);
        Assert.Equal(memory.CategoryId, read.CategoryId);
        Assert.Equal(memory.Score, read.Score);
        Assert.Equal(memory.Box, read.Box);
        Assert.Equal(memory.Area, read.Area);
        Assert.Equal([11L, 10, 10], read.CategoryId);
    }

    [Fact]
    public void GroundTruthKeepsIdsFileNamesCrowdAndAreas()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gt-{Guid.NewGuid():N}.json");
        using (var stream = File.Create(path))
            DetectionCoco.WriteGroundTruth(stream, Images, ["cat", "dog"], label => label + 1);
        var read = CocoJson.ReadGroundTruth(path, CocoIouType.Bbox);
        File.Delete(path);
        var memory = DetectionCoco.GroundTruth(Images, ["cat", "dog"], label => label + 1);
        Assert.Equal([new CocoImage(7, 40, 30, "a.png"), new CocoImage(9, 20, 20, "sub/b.png")], read.Images);
        Assert.Equal([new CocoCategory(1, "cat"), new CocoCategory(2, "dog")], read.Categories);
        Assert.Equal(memory.Box, read.Box);
        Assert.Equal([1.25, 2.5, (double)10.1f - 1.25, (double)20.3f - 2.5, 0, 0, 40, 30], read.Box);
        Assert.Equal([((double)10.1f - 1.25) * ((double)20.3f - 2.5), 500], read.Area);
        Assert.Equal([false, true], read.IsCrowd);
        Assert.Equal([7L, 7], read.ImageId);
    }
}
