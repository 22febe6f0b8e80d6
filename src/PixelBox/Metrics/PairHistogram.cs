using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PixelBox.Metrics;

/// <summary>
/// A scratch histogram of (ground truth, prediction) label pairs behind <see cref="ConfusionMatrix"/>: one per worker
/// thread, filled chunk by chunk with <see cref="Add"/>, then moved into the matrix's delta. It only records whether an
/// invalid label occurred; the caller then scans for the first one and discards all deltas, so a failed update leaves
/// the matrix untouched. Counters are 32-bit: fine since one update covers at most int.MaxValue labels.
/// </summary>
internal abstract unsafe class PairHistogram<T> where T : unmanaged, IBinaryInteger<T>
{
    protected PairHistogram(int numClasses, int? ignoreIndex)
    {
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
    }

    protected int NumClasses { get; }

    protected int? IgnoreIndex { get; }

    public static PairHistogram<T> Create(int numClasses, int? ignoreIndex) =>
        typeof(T) == typeof(byte)
            ? (PairHistogram<T>)(object)new ByteHistogram(numClasses, ignoreIndex)
            : new WideHistogram<T>(numClasses, ignoreIndex);

    /// <summary>Counts <paramref name="n"/> label pairs.</summary>
    public abstract void Add(T* g, T* p, int n);

    /// <summary>Adds the counts to <paramref name="delta"/> (C*C pair counts, then the ignored-pixel count) and
    /// returns the scratch memory; false if an invalid label was seen (the delta is then meaningless).</summary>
    public abstract bool MoveTo(long[] delta);

    /// <summary>The first invalid label, in element order (GT checked before prediction at the same element); null if
    /// all are valid. Only runs after a histogram reported a problem.</summary>
    public static LabelOutOfRangeException? FirstInvalid(T* g, T* p, long n, int numClasses, int? ignoreIndex)
    {
        for (long i = 0; i < n; i++)
        {
            long gv = long.CreateTruncating(g[i]), pv = long.CreateTruncating(p[i]);
            if ((ulong)gv >= (ulong)numClasses && gv != ignoreIndex)
                return new LabelOutOfRangeException(gv, i, inPrediction: false, numClasses, ignoreIndex);
            if ((ulong)pv >= (ulong)numClasses)
                return new LabelOutOfRangeException(pv, i, inPrediction: true, numClasses, ignoreIndex);
        }
        return null;
    }
}

/// <summary>
/// The fast path, for byte labels (decoded PNG masks). Each pixel becomes a cell index row * stride + col computed with
/// SIMD, and the scalar part only increments cells. Validation is folded into the index so that loop has no branches:
/// with K = min(C, 256), a GT label g &lt; K gives row g, anything else row K (the ignore row, discarded);
/// col = min(pred, K), so column K collects out-of-range predictions, and a GT label that is neither a class nor the
/// ignore index is sent to column K too. Any count in column K therefore means an invalid label (possible only for
/// C &lt; 256: for C ≥ 256 every byte is a class, and the stride is 256 so indices fit 16 bits). Blocks where GT and
/// prediction are both constant (64 or 32 pixels, the vector width) — most of a real mask — are counted with one add.
/// </summary>
internal sealed unsafe class ByteHistogram : PairHistogram<byte>
{
    readonly int k, stride, cells, subHistograms;
    readonly ushort ignore;
    readonly uint[] rented;

    public ByteHistogram(int numClasses, int? ignoreIndex) : base(numClasses, ignoreIndex)
    {
        k = Math.Min(numClasses, 256);
        stride = k < 256 ? k + 1 : 256;
        cells = (k + 1) * stride;
        // Sub-histograms the hot loop rotates through: neighbouring pixels of a mask often hit the same cell, and
        // incrementing one counter back to back stalls on store-to-load forwarding. Eight while they fit in L1.
        subHistograms = cells <= 1024 ? 8 : 4;
        // An ignore index outside the byte range never matches; 0xFFFF is outside the widened label range 0..255.
        ignore = ignoreIndex is >= 0 and <= 255 ? (ushort)ignoreIndex.Value : ushort.MaxValue;
        rented = ArrayPool<uint>.Shared.Rent(subHistograms * cells);
        rented.AsSpan(0, subHistograms * cells).Clear();
    }

    public override void Add(byte* g, byte* p, int n)
    {
        fixed (uint* h = rented)
            CountCells(g, p, n, new Layout(h, cells, subHistograms, k, stride, ignore));
    }

    public override bool MoveTo(long[] delta)
    {
        var h = rented.AsSpan(0, subHistograms * cells);
        for (int s = 1; s < subHistograms; s++)
            for (int cell = 0; cell < cells; cell++)
                h[cell] += h[s * cells + cell];
        bool valid = true;
        if (k < 256)
            for (int row = 0; row <= k; row++)
                valid &= h[row * stride + k] == 0;
        for (int row = 0; row < k; row++)
            for (int col = 0; col < k; col++)
                delta[row * NumClasses + col] += h[row * stride + col];
        for (int col = 0; col < k; col++)
            delta[^1] += h[k * stride + col];
        ArrayPool<uint>.Shared.Return(rented);
        return valid;
    }

    /// <summary>Where the hot loop counts: eight sub-histogram pointers (with four sub-histograms, each appears twice)
    /// and the index parameters.</summary>
    readonly struct Layout(uint* h, int cells, int subHistograms, int k, int stride, ushort ignore)
    {
        public readonly uint* H0 = h, H1 = h + cells, H2 = h + 2 * cells, H3 = h + 3 * cells,
            H4 = h + 4 % subHistograms * cells, H5 = h + 5 % subHistograms * cells,
            H6 = h + 6 % subHistograms * cells, H7 = h + 7 % subHistograms * cells;
        public readonly int K = k, Stride = stride;
        public readonly ushort Ignore = ignore;
    }

    /// <summary>The hot loop, a static method without exception handling so the JIT keeps its pointers and constants
    /// in registers. Vector512 where the CPU has it (fewer instructions per pixel: ~20% faster on Zen 4), else Vector256.</summary>
    static void CountCells(byte* g, byte* p, int n, in Layout at)
    {
        ushort* index = stackalloc ushort[64];
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var kv = Vector512.Create((ushort)at.K);
            var strideV = Vector512.Create((ushort)at.Stride);
            var ignoreV = Vector512.Create(at.Ignore);
            for (; i <= n - 64; i += 64)
            {
                var gv = Vector512.Load(g + i);
                var pv = Vector512.Load(p + i);
                if (gv == Vector512.Create(g[i]) && pv == Vector512.Create(p[i]))
                {
                    at.H0[CellIndex(g[i], p[i], at)] += 64;
                    continue;
                }
                var (gLow, gHigh) = Vector512.Widen(gv);
                var (pLow, pHigh) = Vector512.Widen(pv);
                CellIndices(gLow, pLow, kv, strideV, ignoreV).Store(index);
                CellIndices(gHigh, pHigh, kv, strideV, ignoreV).Store(index + 32);
                Increment(index, 64, at);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var kv = Vector256.Create((ushort)at.K);
            var strideV = Vector256.Create((ushort)at.Stride);
            var ignoreV = Vector256.Create(at.Ignore);
            for (; i <= n - 32; i += 32)
            {
                var gv = Vector256.Load(g + i);
                var pv = Vector256.Load(p + i);
                if (gv == Vector256.Create(g[i]) && pv == Vector256.Create(p[i]))
                {
                    at.H0[CellIndex(g[i], p[i], at)] += 32;
                    continue;
                }
                var (gLow, gHigh) = Vector256.Widen(gv);
                var (pLow, pHigh) = Vector256.Widen(pv);
                CellIndices(gLow, pLow, kv, strideV, ignoreV).Store(index);
                CellIndices(gHigh, pHigh, kv, strideV, ignoreV).Store(index + 16);
                Increment(index, 32, at);
            }
        }
        for (; i < n; i++)
            at.H0[CellIndex(g[i], p[i], at)]++;
    }

    /// <summary>Increments the cells listed in <paramref name="index"/> (a multiple of 8 of them), rotating through
    /// the sub-histograms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Increment(ushort* index, int count, in Layout at)
    {
        uint* h0 = at.H0, h1 = at.H1, h2 = at.H2, h3 = at.H3, h4 = at.H4, h5 = at.H5, h6 = at.H6, h7 = at.H7;
        for (ushort* q = index; q < index + count; q += 8)
        {
            h0[q[0]]++;
            h1[q[1]]++;
            h2[q[2]]++;
            h3[q[3]]++;
            h4[q[4]]++;
            h5[q[5]]++;
            h6[q[6]]++;
            h7[q[7]]++;
        }
    }

    /// <summary>The cell index for 32 pixels (labels widened to 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ushort> CellIndices(Vector512<ushort> g, Vector512<ushort> p, Vector512<ushort> k, Vector512<ushort> stride, Vector512<ushort> ignore)
    {
        var isClass = Vector512.LessThan(g, k);
        var row = Vector512.ConditionalSelect(isClass, g, k);
        var col = Vector512.ConditionalSelect(isClass | Vector512.Equals(g, ignore), Vector512.Min(p, k), k);
        return row * stride + col;
    }

    /// <summary>The cell index for 16 pixels (labels widened to 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ushort> CellIndices(Vector256<ushort> g, Vector256<ushort> p, Vector256<ushort> k, Vector256<ushort> stride, Vector256<ushort> ignore)
    {
        var isClass = Vector256.LessThan(g, k);
        var row = Vector256.ConditionalSelect(isClass, g, k);
        var col = Vector256.ConditionalSelect(isClass | Vector256.Equals(g, ignore), Vector256.Min(p, k), k);
        return row * stride + col;
    }

    /// <summary>The cell index for one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int CellIndex(byte g, byte p, in Layout at)
    {
        bool isClass = g < at.K;
        int row = isClass ? g : at.K;
        int col = isClass || g == at.Ignore ? Math.Min(p, at.K) : at.K;
        return row * at.Stride + col;
    }
}

/// <summary>int or long labels, with explicit range checks: simpler than the byte path since such labels come from
/// tensors (argmax output, loss targets), where the surrounding tensor work dominates.</summary>
internal sealed unsafe class WideHistogram<T>(int numClasses, int? ignoreIndex) : PairHistogram<T>(numClasses, ignoreIndex)
    where T : unmanaged, IBinaryInteger<T>
{
    readonly uint[] rented = Rent(numClasses * numClasses);
    long ignored;
    bool valid = true;

    static uint[] Rent(int length)
    {
        var a = ArrayPool<uint>.Shared.Rent(length);
        a.AsSpan(0, length).Clear();
        return a;
    }

    public override void Add(T* g, T* p, int n)
    {
        if (!valid) return;
        long c = NumClasses;
        bool hasIgnore = IgnoreIndex.HasValue;
        long ignore = IgnoreIndex.GetValueOrDefault();
        fixed (uint* h = rented)
            for (int i = 0; i < n; i++)
            {
                long gv = long.CreateTruncating(g[i]), pv = long.CreateTruncating(p[i]);
                if ((ulong)gv < (ulong)c && (ulong)pv < (ulong)c)
                    h[gv * c + pv]++;
                else if (hasIgnore && gv == ignore && (ulong)pv < (ulong)c)
                    ignored++;
                else
                {
                    valid = false;
                    return;
                }
            }
    }

    public override bool MoveTo(long[] delta)
    {
        int cells = NumClasses * NumClasses;
        for (int cell = 0; cell < cells; cell++)
            delta[cell] += rented[cell];
        delta[cells] += ignored;
        ArrayPool<uint>.Shared.Return(rented);
        return valid;
    }
}
