using PixelBox.Data;
using PixelBox.Models;
using TorchSharp;

namespace PixelBox.Tests.Data.Detection;

public class DetectionBatchLoaderTests
{
    static DetectionSample[] Samples(int count) =>
        Enumerable.Range(0, count).Select(i => ShapeSample.Make(20 + 3 * i % 17, 16 + 5 * i % 13, i % 4, i) with { Masks = null }).ToArray();

    // TorchSharp's data<T>().ToArray() throws on an empty tensor
    static T[] Values<T>(torch.Tensor t) where T : unmanaged => t.numel() == 0 ? [] : t.data<T>().ToArray();

    static List<(float[] Images, List<float[]> Boxes, List<long[]> Labels, string[] Ids)> Run(DetectionBatchLoader loader, int epoch)
    {
        var result = new List<(float[], List<float[]>, List<long[]>, string[])>();
        foreach (var batch in loader.Epoch(epoch))
            using (batch)
                result.Add((batch.Images.data<float>().ToArray(),
                    batch.Targets.Select(t => Values<float>(t.Boxes)).ToList(),
                    batch.Targets.Select(t => Values<long>(t.Labels)).ToList(), batch.Ids));
        return result;
    }

    [Fact]
    public void AugmentedEpochsDependOnSeedAndEpochNotOnWorkers()
    {
        var data = Samples(11);
        var aug = new DetectionAugmentation(32);
        DetectionBatchLoader Loader(int workers) => new(data, 4, 32, Normalization.ImageNet, aug, shuffle: true, seed: 7, workers: workers);
        var one = Run(Loader(1), 3);
        var three = Run(Loader(3), 3);
        Assert.Equal(3, one.Count);
        for (int b = 0; b < one.Count; b++)
        {
            Assert.Equal(one[b].Ids, three[b].Ids);
            Assert.Equal(one[b].Images, three[b].Images);
            Assert.Equal(one[b].Boxes, three[b].Boxes);
            Assert.Equal(one[b].Labels, three[b].Labels);
        }
        var other = Run(Loader(2), 4);
        Assert.NotEqual(one[0].Images, other[0].Images);
    }

    [Fact]
    public void BatchesHoldNormalisedImagesAndOneTargetPerImage()
    {
        var data = Samples(5);
        var aug = new DetectionAugmentation(24) { MosaicProbability = 0.5 };
        var loader = new DetectionBatchLoader(data, 3, 24, Normalization.ImageNet, aug, shuffle: false, seed: 1, workers: 2);
        var table = Normalization.ImageNet.Table();
        int b = 0;
        foreach (var batch in loader.Epoch(0))
            using (batch)
            {
                int n = b == 0 ? 3 : 2;
                Assert.Equal(new long[] { n, 3, 24, 24 }, batch.Images.shape);
                Assert.Equal(n, batch.Targets.Count);
                var images = batch.Images.data<float>().ToArray();
                for (int j = 0; j < n; j++)
                {
                    int index = 3 * b + j;
                    var expected = aug.Apply(data, index, new Random(Seeds.Mix(1, 0, index)));
                    Assert.Equal(new long[] { expected.Count, 4 }, batch.Targets[j].Boxes.shape);
                    Assert.Equal(expected.Boxes, Values<float>(batch.Targets[j].Boxes));
                    Assert.Equal(expected.Labels.Select(l => (long)l), Values<long>(batch.Targets[j].Labels));
                    Assert.Equal(torch.ScalarType.Int64, batch.Targets[j].Labels.dtype);
                    // channel 1 of pixel (5, 7): the table's value of the augmented byte
                    Assert.Equal(table[256 + expected.Image[(7 * 24 + 5) * 3 + 1]], images[((j * 3 + 1) * 24 + 7) * 24 + 5]);
                }
                Assert.All(batch.Letterboxes, Assert.Null);
                b++;
            }
        Assert.Equal(2, b);
    }

    [Fact]
    public void WithoutAugmentationImagesAreLetterboxedAndTheTransformsComeWithTheBatch()
    {
        var data = Samples(3);
        var loader = new DetectionBatchLoader(data, 3, 40, Normalization.ImageNet, null, shuffle: false, seed: 0);
        using var batch = loader.Epoch(0).Single();
        for (int j = 0; j < 3; j++)
        {
            var lb = batch.Letterboxes[j]!;
            Assert.Equal((data[j].Width, data[j].Height, 40), (lb.SourceWidth, lb.SourceHeight, lb.Size));
            var boxes = Values<float>(batch.Targets[j].Boxes);
            Assert.Equal(lb.ToLetterbox(data[j].Boxes), boxes);
            var back = lb.ToSource(boxes);
            Assert.All(back.Zip(data[j].Boxes), p => Assert.Equal(p.Second, p.First, 3));
        }
        Assert.Equal(new long[] { 0, 4 }, batch.Targets.Single(t => t.Labels.shape[0] == 0).Boxes.shape);
    }

    [Fact]
    public void ImageSetClipsBoxesDropsDegenerateAndCrowdAndChecksSizes()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("a.png");
        DetectionTestData.Png(path, 10, 8, 1);
        DetectionObject[] objects =
        [
            new(0, -2, 1, 5, 9),                    // overhangs: clipped to [0, 1, 5, 8]
            new(1, 3, 3, 3, 6),                     // no width: dropped
            new(2, 12, 0, 15, 4),                   // outside: dropped
            new(1, 1, 1, 4, 4) { IsCrowd = true },  // crowd: left out unless asked for
            new(2, 2, 2, 6, 6) { Difficult = true },
        ];
        var image = new DetectionImage(1, "a.png", path, 10, 8, objects);
        var data = new DetectionDataset(tmp.Path, "memory", ["a", "b", "c"], [1, 2, 3], [new DetectionSplit("train", [image])]);
        var sample = new DetectionImageSet(data, "train")[0];
        Assert.Equal([0f, 1f, 5f, 8f, 2f, 2f, 6f, 6f], sample.Boxes);
        Assert.Equal([0, 2], sample.Labels);
        Assert.Equal([false, true], sample.Difficult!);
        var withCrowd = new DetectionImageSet(data, "train", includeCrowd: true)[0];
        Assert.Equal([0, 1, 2], withCrowd.Labels);
        Assert.Equal([false, true, false], withCrowd.IsCrowd!);

        var wrong = new DetectionImageSet(data, [image with { Width = 11 }]);
        Assert.Equal($"{path}: image is 10x8 but its annotation says 11x8", Assert.Throws<InputException>(() => wrong[0]).Message);
    }
}
