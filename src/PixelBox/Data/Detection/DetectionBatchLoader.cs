using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using PixelBox.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Data;

/// <summary>
/// A batch of Size x Size images: Images float32 [N, 3, S, S] normalised, one <see cref="DetectionTarget"/> per image
/// (ragged, the detector contract's targets), the sample ids, and for unaugmented batches the letterbox of each image (to map predictions back to the
/// original pixels; null entries for augmented ones). The consumer owns it: dispose it when the step is done.
/// </summary>
public sealed record DetectionBatch(Tensor Images, IReadOnlyList<DetectionTarget> Targets, string[] Ids, LetterboxTransform?[] Letterboxes) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        foreach (var t in Targets) t.Dispose();
    }
}

/// <summary>
/// Batches for detection training and validation, built on a background thread: <c>workers</c> threads decode (through
/// the dataset's cache), augment (or letterbox, without augmentation) and write samples straight into the batch
/// tensor, and up to <c>prefetch</c> batches wait while the consumer works. Results depend only on (seed, epoch): the
/// order is a shuffle seeded by (seed, epoch) and sample i is augmented with a <see cref="Random"/> seeded by
/// (seed, epoch, i), whatever the number of workers or the thread scheduling.
/// </summary>
public sealed class DetectionBatchLoader
{
    readonly IReadOnlyList<DetectionSample> data;
    readonly int batchSize, size, seed, workers, prefetch;
    readonly bool shuffle, dropLast;
    readonly float[] table;
    readonly DetectionAugmentation? augmentation;
    readonly byte fill;

    public DetectionBatchLoader(IReadOnlyList<DetectionSample> data, int batchSize, int size, Normalization norm,
        DetectionAugmentation? augmentation, bool shuffle, int seed, bool dropLast = false, int workers = 2, int prefetch = 2,
        byte fill = DetectionAugmentation.DefaultFill)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        if (augmentation is not null && augmentation.Size != size)
            throw new ArgumentException($"the augmentation makes {augmentation.Size}x{augmentation.Size} images, the loader {size}x{size}");
        this.data = data;
        this.batchSize = batchSize;
        this.size = size;
        this.augmentation = augmentation;
        this.shuffle = shuffle;
        this.seed = seed;
        this.dropLast = dropLast;
        this.workers = workers;
        this.prefetch = prefetch;
        this.fill = fill;
        table = norm.Table();
    }

    public int BatchesPerEpoch => dropLast ? data.Count / batchSize : (data.Count + batchSize - 1) / batchSize;

    /// <summary>
    /// The batches of one epoch, in order. Stopping early cancels the background work and disposes the batches
    /// prepared but not taken. A sample that fails to load ends the enumeration with its <see cref="InputException"/>.
    /// </summary>
    public IEnumerable<DetectionBatch> Epoch(int epoch)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        if (shuffle) new Random(Seeds.Mix(seed, epoch)).Shuffle(order);
        int batches = BatchesPerEpoch;

        using var queue = new BlockingCollection<DetectionBatch>(prefetch);
        using var cancel = new CancellationTokenSource();
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                for (int b = 0; b < batches; b++)
                {
                    int start = b * batchSize, end = Math.Min(start + batchSize, order.Length);
                    var batch = Build(order[start..end], epoch, cancel.Token);
                    try { queue.Add(batch, cancel.Token); }
                    catch { batch.Dispose(); throw; }
                }
            }
            finally { queue.CompleteAdding(); }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        try
        {
            foreach (var batch in queue.GetConsumingEnumerable())
                yield return batch;
            producer.GetAwaiter().GetResult();
        }
        finally
        {
            cancel.Cancel();
            try { producer.Wait(); }
            catch (AggregateException) { }
            while (queue.TryTake(out var left)) left.Dispose();
        }
    }

    DetectionBatch Build(int[] indices, int epoch, CancellationToken cancel)
    {
        var samples = new DetectionSample[indices.Length];
        var letterboxes = new LetterboxTransform?[indices.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel };
        RunParallel(indices.Length, options, j =>
        {
            if (augmentation is not null)
                samples[j] = augmentation.Apply(data, indices[j], new Random(Seeds.Mix(seed, epoch, indices[j])));
            else
            {
                var s = data[indices[j]];
                letterboxes[j] = LetterboxTransform.For(s.Width, s.Height, size);
                samples[j] = letterboxes[j]!.Apply(s, fill);
            }
        });
        return Collate(samples, letterboxes, table, options);
    }

    /// <summary>Stacks Size x Size samples into a batch on the calling thread (e.g. letterboxed images for inference).</summary>
    public static DetectionBatch Collate(IReadOnlyList<DetectionSample> samples, Normalization norm, IReadOnlyList<LetterboxTransform?>? letterboxes = null) =>
        Collate(samples, letterboxes?.ToArray() ?? new LetterboxTransform?[samples.Count], norm.Table(), new ParallelOptions { MaxDegreeOfParallelism = 1 });

    static DetectionBatch Collate(IReadOnlyList<DetectionSample> samples, LetterboxTransform?[] letterboxes, float[] table, ParallelOptions options)
    {
        if (samples.Count == 0) throw new ArgumentException("cannot collate an empty batch");
        int s = samples[0].Width;
        foreach (var sample in samples)
        {
            sample.Validate();
            if (sample.Width != s || sample.Height != s)
                throw new ArgumentException($"sample '{sample.Id}' is {sample.Width}x{sample.Height}; a batch needs {s}x{s} images (letterbox or augment them)");
        }
        int n = samples.Count;
        var images = empty(new long[] { n, 3, s, s }, ScalarType.Float32);
        var targets = new List<DetectionTarget>(n);
        try
        {
            var imageBase = Address(images.bytes);
            RunParallel(n, options, j => Fill(samples[j].Image, table, imageBase, j, s));
            foreach (var sample in samples)
            {
                var boxes = tensor(sample.Boxes, new long[] { sample.Count, 4 });
                var labels = tensor(sample.Labels.Select(l => (long)l).ToArray(), new long[] { sample.Count });
                targets.Add(new DetectionTarget(boxes, labels));
            }
        }
        catch
        {
            images.Dispose();
            foreach (var t in targets) t.Dispose();
            throw;
        }
        return new DetectionBatch(images, targets, samples.Select(x => x.Id).ToArray(), letterboxes);
    }

    static unsafe nint Address(Span<byte> native)
    {
        fixed (byte* p = native) return (nint)p;
    }

    static unsafe void Fill(byte[] image, float[] table, nint imageBase, int j, int s)
    {
        int plane = s * s;
        var r = new Span<float>((float*)imageBase + (long)j * 3 * plane, plane);
        var g = new Span<float>((float*)imageBase + ((long)j * 3 + 1) * plane, plane);
        var b = new Span<float>((float*)imageBase + ((long)j * 3 + 2) * plane, plane);
        ReadOnlySpan<float> tr = table.AsSpan(0, 256), tg = table.AsSpan(256, 256), tb = table.AsSpan(512, 256);
        for (int p = 0; p < plane; p++)
        {
            r[p] = tr[image[3 * p]];
            g[p] = tg[image[3 * p + 1]];
            b[p] = tb[image[3 * p + 2]];
        }
    }

    /// <summary>Parallel.For that rethrows a body's exception itself (e.g. the InputException naming a corrupt file).</summary>
    static void RunParallel(int count, ParallelOptions options, Action<int> body)
    {
        try { Parallel.For(0, count, options, body); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
