using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Data;

/// <summary>
/// A batch of equal-size samples: Images float32 [N, 3, H, W] normalised, Masks int64 [N, H, W] labels.
/// The consumer owns it: dispose it (or move its tensors into a dispose scope) when the step is done.
/// </summary>
public sealed record SegmentationBatch(Tensor Images, Tensor Masks, string[] Ids) : IDisposable
{
    public void Dispose()
    {
        Images.Dispose();
        Masks.Dispose();
    }
}

/// <summary>
/// Turns a list of samples into batches on a background thread: <c>workers</c> threads read (and, through
/// the dataset, decode), augment and write samples straight into each batch's tensor memory, and up to
/// <c>prefetch</c> finished batches wait in a bounded queue while the consumer trains on the current one.
/// Results depend only on (seed, epoch): the order is a shuffle seeded by (seed, epoch) and sample i is
/// augmented with a <see cref="Random"/> seeded by (seed, epoch, i), whatever the thread scheduling.
/// Without augmentation, samples of different sizes are padded on the right/bottom to the largest in the
/// batch, rounded up to <c>padMultiple</c> (image with 0 = black before normalisation, mask with <c>ignoreIndex</c>).
/// </summary>
public sealed class SegmentationBatchLoader
{
    readonly IReadOnlyList<SegmentationSample> data;
    readonly int batchSize, seed, workers, prefetch, padMultiple;
    readonly bool shuffle, dropLast;
    readonly byte ignoreIndex;
    readonly float[] table;
    readonly SegmentationAugmentation? augmentation;

    public SegmentationBatchLoader(IReadOnlyList<SegmentationSample> data, int batchSize, Normalization norm,
        SegmentationAugmentation? augmentation, bool shuffle, int seed, bool dropLast = false, int workers = 2, int prefetch = 2,
        int padMultiple = 1, byte ignoreIndex = 255)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(padMultiple, 1);
        this.data = data;
        this.batchSize = batchSize;
        this.augmentation = augmentation;
        this.shuffle = shuffle;
        this.seed = seed;
        this.dropLast = dropLast;
        this.workers = workers;
        this.prefetch = prefetch;
        this.padMultiple = padMultiple;
        this.ignoreIndex = ignoreIndex;
        table = norm.Table();
    }

    public int BatchesPerEpoch => dropLast ? data.Count / batchSize : (data.Count + batchSize - 1) / batchSize;

    /// <summary>
    /// The batches of one epoch, in order, from batch <paramref name="skip"/> on (the skipped ones are not
    /// loaded; the rest are exactly those of a full pass). Stopping early (break, exception) cancels the
    /// background work and disposes the batches that were prepared but not taken. A sample that fails to
    /// load (corrupt file) ends the enumeration with the dataset's <see cref="InputException"/>.
    /// </summary>
    public IEnumerable<SegmentationBatch> Epoch(int epoch, int skip = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        var order = Enumerable.Range(0, data.Count).ToArray();
        if (shuffle) new Random(Seeds.Mix(seed, epoch)).Shuffle(order);
        int batches = BatchesPerEpoch;

        using var queue = new BlockingCollection<SegmentationBatch>(prefetch);
        using var cancel = new CancellationTokenSource();
        var producer = Task.Factory.StartNew(() =>
        {
            try
            {
                for (int b = skip; b < batches; b++)
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
            producer.GetAwaiter().GetResult(); // a failed sample's exception, as thrown
        }
        finally
        {
            cancel.Cancel();
            try { producer.Wait(); }
            catch (AggregateException) { } // cancelled after an early stop, or already rethrown above
            while (queue.TryTake(out var left)) left.Dispose();
        }
    }

    SegmentationBatch Build(int[] indices, int epoch, CancellationToken cancel)
    {
        var samples = new SegmentationSample[indices.Length];
        var options = new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel };
        RunParallel(indices.Length, options, j =>
        {
            var sample = data[indices[j]];
            if (augmentation != null)
                sample = augmentation.Apply(sample, new Random(Seeds.Mix(seed, epoch, indices[j])));
            samples[j] = sample;
        });
        return Collate(samples, table, padMultiple, ignoreIndex, options);
    }

    /// <summary>
    /// Stacks samples into one batch on the calling thread (e.g. for inference or full-size validation
    /// images), padding to the largest size rounded up to <paramref name="padMultiple"/> as the loader does.
    /// </summary>
    public static SegmentationBatch Collate(IReadOnlyList<SegmentationSample> samples, Normalization norm,
                                            int padMultiple = 1, byte ignoreIndex = 255)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(padMultiple, 1);
        return Collate(samples, norm.Table(), padMultiple, ignoreIndex, new ParallelOptions { MaxDegreeOfParallelism = 1 });
    }

    static SegmentationBatch Collate(IReadOnlyList<SegmentationSample> samples, float[] table, int padMultiple,
                                     byte ignoreIndex, ParallelOptions options)
    {
        if (samples.Count == 0) throw new ArgumentException("cannot collate an empty batch");
        int h = 0, w = 0;
        foreach (var s in samples)
        {
            if (s.Width <= 0 || s.Height <= 0 || s.Image.Length != (long)s.Width * s.Height * 3 || s.Mask.Length != (long)s.Width * s.Height)
                throw new ArgumentException($"sample '{s.Id}': {s.Image.Length} image and {s.Mask.Length} mask bytes do not fit {s.Width}x{s.Height}");
            h = Math.Max(h, s.Height);
            w = Math.Max(w, s.Width);
        }
        h = (h + padMultiple - 1) / padMultiple * padMultiple;
        w = (w + padMultiple - 1) / padMultiple * padMultiple;
        int n = samples.Count;
        var images = empty(new long[] { n, 3, h, w }, ScalarType.Float32);
        var masks = empty(new long[] { n, h, w }, ScalarType.Int64);
        try
        {
            // Tensor memory is native, so these addresses stay valid while the workers write to them.
            var imageBase = Address(images.bytes);
            var maskBase = Address(masks.bytes);
            RunParallel(n, options, j => Fill(samples[j], table, ignoreIndex, imageBase, maskBase, j, h, w));
        }
        catch
        {
            images.Dispose();
            masks.Dispose();
            throw;
        }
        return new SegmentationBatch(images, masks, samples.Select(s => s.Id).ToArray());
    }

    static unsafe nint Address(Span<byte> native)
    {
        fixed (byte* p = native) return (nint)p;
    }

    /// <summary>Writes sample j as CHW normalised floats and int64 labels, padding right/bottom.</summary>
    static unsafe void Fill(SegmentationSample s, float[] table, byte ignoreIndex, nint imageBase, nint maskBase, int j, int h, int w)
    {
        long plane = (long)h * w;
        var r = new Span<float>((float*)imageBase + j * 3 * plane, (int)plane);
        var g = new Span<float>((float*)imageBase + (j * 3 + 1) * plane, (int)plane);
        var b = new Span<float>((float*)imageBase + (j * 3 + 2) * plane, (int)plane);
        var m = new Span<long>((long*)maskBase + j * plane, (int)plane);
        ReadOnlySpan<float> tr = table.AsSpan(0, 256), tg = table.AsSpan(256, 256), tb = table.AsSpan(512, 256);
        ReadOnlySpan<byte> image = s.Image, mask = s.Mask;
        int sw = s.Width;
        for (int y = 0; y < s.Height; y++)
        {
            int o = y * w, p = y * sw;
            for (int x = 0; x < sw; x++, o++, p++)
            {
                r[o] = tr[image[3 * p]];
                g[o] = tg[image[3 * p + 1]];
                b[o] = tb[image[3 * p + 2]];
                m[o] = mask[p];
            }
            if (sw < w)
            {
                r.Slice(y * w + sw, w - sw).Fill(tr[0]);
                g.Slice(y * w + sw, w - sw).Fill(tg[0]);
                b.Slice(y * w + sw, w - sw).Fill(tb[0]);
                m.Slice(y * w + sw, w - sw).Fill(ignoreIndex);
            }
        }
        int filled = s.Height * w;
        r[filled..].Fill(tr[0]);
        g[filled..].Fill(tg[0]);
        b[filled..].Fill(tb[0]);
        m[filled..].Fill(ignoreIndex);
    }

    /// <summary>Parallel.For that rethrows a body's exception itself (e.g. the InputException naming a corrupt file), not an AggregateException.</summary>
    static void RunParallel(int count, ParallelOptions options, Action<int> body)
    {
        try { Parallel.For(0, count, options, body); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
