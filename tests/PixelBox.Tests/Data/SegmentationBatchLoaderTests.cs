using System.Collections;
using PixelBox.Data;
using static TorchSharp.torch;

namespace PixelBox.Tests.Data;

public class SegmentationBatchLoaderTests
{
    static List<SegmentationSample> Scenes(int count, int size, int seed) =>
        Enumerable.Range(0, count).Select(i =>
        {
            var scene = ShapesDataset.Render(size, seed, i);
            return new SegmentationSample($"s{i}", size, size, scene.Image.Pixels, scene.Mask.Pixels);
        }).ToList();

    static (float[] Images, long[] Masks, string[] Ids)[] Collect(SegmentationBatchLoader loader, int epoch) =>
        loader.Epoch(epoch).Select(b =>
        {
            using (b) return (b.Images.data<float>().ToArray(), b.Masks.data<long>().ToArray(), b.Ids);
        }).ToArray();

    [Fact]
    public void BatchesHaveTheDocumentedShapesAndTypes()
    {
        var data = Scenes(10, 20, 1);
        var aug = new SegmentationAugmentation(16);
        var loader = new SegmentationBatchLoader(data, 4, Normalization.ImageNet, aug, shuffle: true, seed: 0);
        Assert.Equal(3, loader.BatchesPerEpoch);
        Assert.Equal(2, new SegmentationBatchLoader(data, 4, Normalization.ImageNet, aug, true, 0, dropLast: true).BatchesPerEpoch);

        var sizes = new List<int>();
        var ids = new List<string>();
        foreach (var batch in loader.Epoch(0))
        {
            using (batch)
            {
                int n = batch.Ids.Length;
                sizes.Add(n);
                ids.AddRange(batch.Ids);
                Assert.Equal(new long[] { n, 3, 16, 16 }, batch.Images.shape);
                Assert.Equal(new long[] { n, 16, 16 }, batch.Masks.shape);
                Assert.Equal(ScalarType.Float32, batch.Images.dtype);
                Assert.Equal(ScalarType.Int64, batch.Masks.dtype);
                var labels = batch.Masks.data<long>().ToArray();
                Assert.All(labels, v => Assert.True(v is >= 0 and <= 4 or 255));
            }
        }
        Assert.Equal([4, 4, 2], sizes);
        Assert.Equal(data.Select(d => d.Id).Order(), ids.Order()); // each sample once per epoch
        Assert.NotEqual(data.Select(d => d.Id), ids); // shuffled
    }

    [Fact]
    public void NormalisesChannelsAndLaysThemOutChannelFirst()
    {
        // 2x1 image: pixel (0,0) = (255, 0, 128), pixel (1,0) = (10, 20, 30); mask labels 3 and 255.
        var sample = new SegmentationSample("p", 2, 1, [255, 0, 128, 10, 20, 30], [3, 255]);
        using var batch = SegmentationBatchLoader.Collate([sample], Normalization.ImageNet);
        Assert.Equal(new long[] { 1, 3, 1, 2 }, batch.Images.shape);
        var v = batch.Images.data<float>().ToArray();
        // (value / 255 - mean) / std with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
        Assert.Equal((1 - 0.485) / 0.229, v[0], 1e-5);                 // R at (0,0)
        Assert.Equal((10 / 255.0 - 0.485) / 0.229, v[1], 1e-5);       // R at (1,0)
        Assert.Equal((0 - 0.456) / 0.224, v[2], 1e-5);                 // G at (0,0)
        Assert.Equal((20 / 255.0 - 0.456) / 0.224, v[3], 1e-5);
        Assert.Equal((128 / 255.0 - 0.406) / 0.225, v[4], 1e-5);       // B at (0,0)
        Assert.Equal((30 / 255.0 - 0.406) / 0.225, v[5], 1e-5);
        Assert.Equal(new long[] { 3, 255 }, batch.Masks.data<long>().ToArray());

        var custom = new Normalization([0.5f, 0.5f, 0.5f], [0.5f, 0.25f, 1f]);
        using var b2 = SegmentationBatchLoader.Collate([sample], custom);
        var u = b2.Images.data<float>().ToArray();
        Assert.Equal(1.0, u[0], 1e-6);
        Assert.Equal(-2.0, u[2], 1e-6);
    }

    [Fact]
    public void FullImagesOfDifferentSizesArePaddedToTheLargestAndToTheMultiple()
    {
        var a = new SegmentationSample("a", 5, 4, Enumerable.Repeat((byte)255, 60).ToArray(), Enumerable.Repeat((byte)1, 20).ToArray());
        var b = new SegmentationSample("b", 7, 3, Enumerable.Repeat((byte)255, 63).ToArray(), Enumerable.Repeat((byte)2, 21).ToArray());
        var loader = new SegmentationBatchLoader([a, b], 2, Normalization.ImageNet, null, shuffle: false, seed: 0, padMultiple: 4);
        var batches = loader.Epoch(0).ToList();
        using var batch = Assert.Single(batches);
        Assert.Equal(new long[] { 2, 3, 4, 8 }, batch.Images.shape);
        var masks = batch.Masks.data<long>().ToArray();
        var red = batch.Images.data<float>().ToArray();
        float white = (1 - 0.485f) / 0.229f, black = (0 - 0.485f) / 0.229f;
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 8; x++)
            {
                bool inA = x < 5 && y < 4, inB = x < 7 && y < 3;
                Assert.Equal(inA ? 1 : 255, masks[y * 8 + x]);
                Assert.Equal(inB ? 2 : 255, masks[32 + y * 8 + x]);
                Assert.Equal(inA ? white : black, red[y * 8 + x], 1e-5);
                Assert.Equal(inB ? white : black, red[3 * 32 + y * 8 + x], 1e-5);
            }
    }

    [Fact]
    public void ResultsDependOnlyOnSeedAndEpochNotOnWorkers()
    {
        var data = Scenes(13, 24, 2);
        var aug = new SegmentationAugmentation(16, 0.5, 2.0);
        var one = new SegmentationBatchLoader(data, 4, Normalization.ImageNet, aug, shuffle: true, seed: 7, workers: 1, prefetch: 1);
        var two = new SegmentationBatchLoader(data, 4, Normalization.ImageNet, aug, shuffle: true, seed: 7, workers: 2, prefetch: 3);
        var a = Collect(one, 3);
        var b = Collect(two, 3);
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Ids, b[i].Ids);
            Assert.Equal(a[i].Images, b[i].Images);
            Assert.Equal(a[i].Masks, b[i].Masks);
        }
        var nextEpoch = Collect(one, 4);
        Assert.NotEqual(a.SelectMany(x => x.Ids), nextEpoch.SelectMany(x => x.Ids));
        var otherSeed = Collect(new SegmentationBatchLoader(data, 4, Normalization.ImageNet, aug, true, seed: 8), 3);
        Assert.NotEqual(a[0].Images, otherSeed[0].Images);
    }

    [Fact]
    public void WithoutShuffleOrAugmentationBatchesAreTheSamplesInOrder()
    {
        var data = Scenes(5, 16, 3);
        var loader = new SegmentationBatchLoader(data, 2, Normalization.ImageNet, null, shuffle: false, seed: 0);
        var batches = Collect(loader, 0);
        Assert.Equal(["s0", "s1", "s2", "s3", "s4"], batches.SelectMany(b => b.Ids));
        Assert.Equal(data[4].Mask.Select(v => (long)v), batches[2].Masks);
    }

    /// <summary>Counts reads, to see that background work stops when the consumer does.</summary>
    sealed class CountingList(IReadOnlyList<SegmentationSample> inner) : IReadOnlyList<SegmentationSample>
    {
        int reads;
        public int Reads => Volatile.Read(ref reads);
        public SegmentationSample this[int index] { get { Interlocked.Increment(ref reads); return inner[index]; } }
        public int Count => inner.Count;
        public IEnumerator<SegmentationSample> GetEnumerator() => inner.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public async Task StoppingEarlyStopsTheBackgroundWork()
    {
        var one = Scenes(1, 16, 4)[0];
        var data = new CountingList(Enumerable.Repeat(one, 400).ToList());
        var loader = new SegmentationBatchLoader(data, 2, Normalization.ImageNet, new SegmentationAugmentation(8), true, 0, workers: 2, prefetch: 2);
        var run = Task.Run(() =>
        {
            foreach (var batch in loader.Epoch(0))
            {
                batch.Dispose();
                break;
            }
        });
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(30)))); // no hang
        await run;
        int after = data.Reads;
        await Task.Delay(200);
        Assert.Equal(after, data.Reads);
        Assert.True(after <= 2 * (1 + 2 + 1), $"{after} samples read for one batch"); // taken + queued + in progress
    }

    [Fact]
    public void ACorruptFileEndsTheEpochWithItsInputException()
    {
        using var tmp = new TempDir();
        var root = tmp.Combine("ds");
        ShapesDataset.Generate(root, 6, 16, seed: 0, valFraction: 0);
        var path = Path.Combine(root, "images", "000004.png");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var ds = MaskFolderDataset.Open(root, "train");
        var loader = new SegmentationBatchLoader(ds, 2, Normalization.ImageNet, null, shuffle: false, seed: 0);
        var e = Assert.Throws<InputException>(() => { foreach (var b in loader.Epoch(0)) b.Dispose(); });
        Assert.StartsWith(path + ": corrupt image", e.Message);
    }
}
