using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Metrics;

/// <summary>
/// A streaming confusion matrix for semantic segmentation: <c>this[g, p]</c> counts the pixels whose ground truth is
/// class g and whose prediction is class p (rows = ground truth, columns = prediction). Feed it every image of a
/// dataset and read the metrics at the end: that is one matrix over the whole dataset, which is how the benchmarks
/// (PASCAL VOC, Cityscapes, ADE20K) define mIoU — not an average of per-image scores.
/// </summary>
/// <remarks>
/// Ground-truth pixels equal to the ignore index are skipped (counted in <see cref="IgnoredPixels"/> only). Any other
/// label outside [0, NumClasses) — in the ground truth, or anywhere in the prediction, including a prediction equal to
/// the ignore index — throws <see cref="LabelOutOfRangeException"/> and leaves the matrix unchanged.
/// <para>With TP_c = this[c, c], FN_c = GT pixels of c − TP_c and FP_c = predicted pixels of c − TP_c, the metrics are
/// defined on the member docs below. A per-class value whose denominator is zero is NaN, and every mean skips NaN and
/// says which classes it left out.</para>
/// Not thread-safe: give each thread its own matrix and <see cref="Merge"/> them.
/// </remarks>
public sealed class ConfusionMatrix
{
    /// <summary>Largest supported class count (the matrix and per-thread histograms are dense C x C).</summary>
    public const int MaxClasses = 1024;

    readonly long[] counts;
    long ignoredPixels;

    /// <param name="numClasses">C: labels 0..C-1 are classes.</param>
    /// <param name="ignoreIndex">GT label to skip (255 in VOC/Cityscapes, -100 for PyTorch loss targets); null to
    /// skip nothing. Must not be a class index.</param>
    public ConfusionMatrix(int numClasses, int? ignoreIndex = null)
    {
        if (numClasses < 1 || numClasses > MaxClasses)
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"the class count must be in [1, {MaxClasses}]");
        if (ignoreIndex is int ig && ig >= 0 && ig < numClasses)
            throw new ArgumentOutOfRangeException(nameof(ignoreIndex), ig, $"the ignore index {ig} is a class index; it must lie outside [0, {numClasses})");
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
        counts = new long[numClasses * numClasses];
    }

    public int NumClasses { get; }

    public int? IgnoreIndex { get; }

    /// <summary>Pixels with ground truth <paramref name="gt"/> predicted as <paramref name="pred"/>.</summary>
    public long this[int gt, int pred] => counts[checked(Index(gt) * NumClasses + Index(pred))];

    /// <summary>The counts as a [gt, pred] array (a copy).</summary>
    public long[,] ToArray()
    {
        var a = new long[NumClasses, NumClasses];
        for (int g = 0; g < NumClasses; g++)
            for (int p = 0; p < NumClasses; p++)
                a[g, p] = counts[g * NumClasses + p];
        return a;
    }

    /// <summary>Counted pixels (ignored pixels excluded).</summary>
    public long TotalPixels
    {
        get { long t = 0; foreach (var v in counts) t += v; return t; }
    }

    /// <summary>Ground-truth pixels equal to the ignore index, skipped.</summary>
    public long IgnoredPixels => ignoredPixels;

    // ---- accumulation ----

    /// <summary>Counts one image (or batch) of byte labels, e.g. decoded PNG index masks. Both spans hold the same
    /// pixels in the same order.</summary>
    /// <exception cref="LabelOutOfRangeException">an invalid label; the matrix is unchanged.</exception>
    public unsafe void Update(ReadOnlySpan<byte> gt, ReadOnlySpan<byte> pred)
    {
        CheckSameLength(gt.Length, pred.Length);
        fixed (byte* g = gt, p = pred)
            Accumulate(g, p, gt.Length);
    }

    /// <inheritdoc cref="Update(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public unsafe void Update(ReadOnlySpan<int> gt, ReadOnlySpan<int> pred)
    {
        CheckSameLength(gt.Length, pred.Length);
        fixed (int* g = gt, p = pred)
            Accumulate(g, p, gt.Length);
    }

    /// <inheritdoc cref="Update(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    public unsafe void Update(ReadOnlySpan<long> gt, ReadOnlySpan<long> pred)
    {
        CheckSameLength(gt.Length, pred.Length);
        fixed (long* g = gt, p = pred)
            Accumulate(g, p, gt.Length);
    }

    /// <summary>
    /// Counts label tensors of equal shape (uint8, int32 or int64; e.g. targets [N, H, W] and <c>logits.argmax(1)</c>).
    /// The labels are read straight from CPU storage (tensors on another device, non-contiguous or of two different
    /// dtypes are first copied/converted by one tensor op); positions in an exception index the flattened tensor.
    /// </summary>
    public void Update(Tensor gt, Tensor pred)
    {
        if (!gt.shape.SequenceEqual(pred.shape))
            throw new ArgumentException($"ground truth [{string.Join(", ", gt.shape)}] and prediction [{string.Join(", ", pred.shape)}] differ in shape");
        foreach (var (t, name) in new[] { (gt, nameof(gt)), (pred, nameof(pred)) })
            if (t.dtype is not (ScalarType.Byte or ScalarType.Int32 or ScalarType.Int64))
                throw new ArgumentException($"labels must be uint8, int32 or int64, not {t.dtype}", name);

        using var scope = NewDisposeScope();
        var common = gt.dtype == pred.dtype ? gt.dtype : ScalarType.Int64;
        var g = CpuContiguous(gt, common);
        var p = CpuContiguous(pred, common);
        switch (common)
        {
            case ScalarType.Byte: Update((ReadOnlySpan<byte>)g.bytes, p.bytes); break;
            case ScalarType.Int32: Update(MemoryMarshal.Cast<byte, int>(g.bytes), MemoryMarshal.Cast<byte, int>(p.bytes)); break;
            default: Update(MemoryMarshal.Cast<byte, long>(g.bytes), MemoryMarshal.Cast<byte, long>(p.bytes)); break;
        }
        // The spans point into tensor storage: keep the tensors alive until counting is done.
        GC.KeepAlive(g);
        GC.KeepAlive(p);
    }

    /// <summary>Adds another matrix's counts (e.g. from another thread or shard); both must have the same classes and ignore index.</summary>
    public void Merge(ConfusionMatrix other)
    {
        if (other.NumClasses != NumClasses || other.IgnoreIndex != IgnoreIndex)
            throw new ArgumentException($"cannot merge a matrix of {other.NumClasses} classes (ignore {other.IgnoreIndex?.ToString() ?? "none"}) into one of {NumClasses} classes (ignore {IgnoreIndex?.ToString() ?? "none"})", nameof(other));
        for (int k = 0; k < counts.Length; k++)
            counts[k] += other.counts[k];
        ignoredPixels += other.ignoredPixels;
    }

    /// <summary>Zeroes all counts (e.g. at the start of each validation epoch).</summary>
    public void Reset()
    {
        Array.Clear(counts);
        ignoredPixels = 0;
    }

    // ---- metrics ----

    /// <summary>Ground-truth pixels per class (row sums): TP + FN.</summary>
    public long[] GtPixels
    {
        get
        {
            var s = new long[NumClasses];
            for (int g = 0; g < NumClasses; g++)
                for (int p = 0; p < NumClasses; p++)
                    s[g] += counts[g * NumClasses + p];
            return s;
        }
    }

    /// <summary>Predicted pixels per class (column sums): TP + FP.</summary>
    public long[] PredPixels
    {
        get
        {
            var s = new long[NumClasses];
            for (int g = 0; g < NumClasses; g++)
                for (int p = 0; p < NumClasses; p++)
                    s[p] += counts[g * NumClasses + p];
            return s;
        }
    }

    /// <summary>Correct pixels per class: TP = this[c, c].</summary>
    public long[] TruePositives
    {
        get
        {
            var s = new long[NumClasses];
            for (int c = 0; c < NumClasses; c++)
                s[c] = counts[c * NumClasses + c];
            return s;
        }
    }

    /// <summary>Pixel accuracy: trace / total = correctly labelled pixels / counted pixels. NaN when nothing was counted.</summary>
    public double PixelAccuracy
    {
        get
        {
            long total = TotalPixels, correct = 0;
            for (int c = 0; c < NumClasses; c++)
                correct += counts[c * NumClasses + c];
            return Ratio(correct, total);
        }
    }

    /// <summary>Per-class accuracy = recall = TP / (TP + FN), the share of the class's GT pixels predicted as it.
    /// NaN for a class with no GT pixels.</summary>
    public double[] ClassAccuracy => PerClass((tp, gt, pred) => Ratio(tp, gt));

    /// <summary>Recall = TP / (TP + FN); the same numbers as <see cref="ClassAccuracy"/>.</summary>
    public double[] Recall => ClassAccuracy;

    /// <summary>Precision = TP / (TP + FP), the share of the pixels predicted as the class that are it. NaN for a
    /// class never predicted.</summary>
    public double[] Precision => PerClass((tp, gt, pred) => Ratio(tp, pred));

    /// <summary>Intersection over union = TP / (TP + FP + FN). NaN for a class absent from both GT and prediction;
    /// 0 for a class predicted but absent from GT (every one of its predictions is wrong).</summary>
    public double[] IoU => PerClass((tp, gt, pred) => Ratio(tp, gt + pred - tp));

    /// <summary>Dice = F1 = 2TP / (2TP + FP + FN), the harmonic mean of precision and recall. NaN for a class absent
    /// from both GT and prediction.</summary>
    public double[] Dice => PerClass((tp, gt, pred) => Ratio(2 * tp, gt + pred));

    /// <summary>Mean of <see cref="ClassAccuracy"/> over the classes with GT pixels (the others are in
    /// <see cref="ClassesWithoutGt"/>). NaN when no class has GT pixels.</summary>
    public double MeanAccuracy => NanMean(ClassAccuracy);

    /// <summary>mIoU: mean of <see cref="IoU"/> over the classes present in GT or prediction; the classes absent from
    /// both (IoU NaN) are left out and listed in <see cref="ClassesExcludedFromMeanIoU"/>.</summary>
    public double MeanIoU => NanMean(IoU);

    /// <summary>Frequency-weighted IoU: Σ_c freq_c · IoU_c over the classes with GT pixels, freq_c = GT pixels of c /
    /// counted pixels (so the weights sum to 1). NaN when nothing was counted.</summary>
    public double FrequencyWeightedIoU
    {
        get
        {
            long total = TotalPixels;
            if (total == 0) return double.NaN;
            var gt = GtPixels;
            var iou = IoU;
            double sum = 0;
            for (int c = 0; c < NumClasses; c++)
                if (gt[c] > 0)
                    sum += (double)gt[c] / total * iou[c];
            return sum;
        }
    }

    /// <summary>Classes absent from both GT and prediction: IoU and Dice undefined, left out of <see cref="MeanIoU"/>.</summary>
    public int[] ClassesExcludedFromMeanIoU => NanIndices(IoU);

    /// <summary>Classes with no GT pixels: accuracy undefined, left out of <see cref="MeanAccuracy"/> (and of
    /// <see cref="FrequencyWeightedIoU"/>, where their weight would be 0).</summary>
    public int[] ClassesWithoutGt => NanIndices(ClassAccuracy);

    // ---- helpers ----

    /// <summary>Above this many labels an update is split into chunks counted by all cores (each worker thread
    /// fills its own histogram); below, thread hand-off costs more than it saves.</summary>
    internal const int ParallelThreshold = 1 << 17;

    /// <summary>Chunk size of a parallel update: small enough that a worker delayed by the OS leaves its share to
    /// the others, large enough that per-chunk overhead is noise.</summary>
    const int ChunkLabels = 1 << 15;

    unsafe void Accumulate<T>(T* g, T* p, int n) where T : unmanaged, IBinaryInteger<T>
    {
        if (n == 0) return;
        var histograms = new List<PairHistogram<T>>();
        if (n < ParallelThreshold || Environment.ProcessorCount == 1)
        {
            var h = PairHistogram<T>.Create(NumClasses, IgnoreIndex);
            h.Add(g, p, n);
            histograms.Add(h);
        }
        else
        {
            nint gAddress = (nint)g, pAddress = (nint)p;
            int chunks = (n + ChunkLabels - 1) / ChunkLabels;
            Parallel.For(0, chunks,
                () => PairHistogram<T>.Create(NumClasses, IgnoreIndex),
                (chunk, _, h) =>
                {
                    int start = chunk * ChunkLabels;
                    h.Add((T*)gAddress + start, (T*)pAddress + start, Math.Min(ChunkLabels, n - start));
                    return h;
                },
                h => { lock (histograms) histograms.Add(h); });
        }

        var delta = new long[counts.Length + 1];
        bool valid = true;
        foreach (var h in histograms)
            valid &= h.MoveTo(delta);
        if (!valid)
            throw (Exception?)PairHistogram<T>.FirstInvalid(g, p, n, NumClasses, IgnoreIndex)
                ?? new InvalidOperationException("a histogram reported an invalid label that the scan cannot find");
        for (int k = 0; k < counts.Length; k++)
            counts[k] += delta[k];
        ignoredPixels += delta[counts.Length];
    }

    static Tensor CpuContiguous(Tensor t, ScalarType dtype)
    {
        if (t.device_type != DeviceType.CPU) t = t.cpu();
        if (t.dtype != dtype) t = t.to_type(dtype);
        return t.is_contiguous() ? t : t.contiguous();
    }

    static void CheckSameLength(int gt, int pred)
    {
        if (gt != pred)
            throw new ArgumentException($"ground truth has {gt} labels but prediction has {pred}");
    }

    int Index(int c) =>
        (uint)c < (uint)NumClasses ? c : throw new ArgumentOutOfRangeException(nameof(c), c, $"class index outside [0, {NumClasses})");

    double[] PerClass(Func<long, long, long, double> metric)
    {
        var gt = GtPixels;
        var pred = PredPixels;
        var r = new double[NumClasses];
        for (int c = 0; c < NumClasses; c++)
            r[c] = metric(counts[c * NumClasses + c], gt[c], pred[c]);
        return r;
    }

    static double Ratio(long numerator, long denominator) =>
        denominator == 0 ? double.NaN : (double)numerator / denominator;

    static double NanMean(double[] values)
    {
        double sum = 0;
        int n = 0;
        foreach (var v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        return n == 0 ? double.NaN : sum / n;
    }

    static int[] NanIndices(double[] values) =>
        Enumerable.Range(0, values.Length).Where(c => double.IsNaN(values[c])).ToArray();
}
