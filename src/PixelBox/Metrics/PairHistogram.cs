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
/// The fast path, for byte labels (decoded PNG masks). Each pixel becomes a cell index (row &lt;&lt; shift) | col
/// computed with SIMD, 16 pixels per vector, and the scalar part only increments cells. Validation is folded into the
/// index so that loop has no branches: with K = min(C, 256), a GT label g &lt; K gives row g, anything else row K (the
/// ignore row, discarded); col = min(pred, K), so column K collects out-of-range predictions, and a GT label that is
/// neither a class nor the ignore index is sent to column K too. Any count in column K therefore means an invalid
/// label (possible only for C &lt; 256: for C ≥ 256 every byte is a class). Blocks where GT and prediction are both
/// constant — most of a real mask — are counted with a single add.
/// </summary>
internal sealed unsafe class ByteHistogram : PairHistogram<byte>
{
    /// <summary>Sub-histograms the hot loop rotates through: neighbouring pixels often hit the same cell, and
    /// incrementing one counter back to back stalls on store-to-load forwarding.</summary>
    const int SubHistograms = 4;

    /// <summary>Pixels per SIMD step (one Vector256 of bytes).</summary>
    const int Block = 32;

    readonly int k, shift, cells;
    readonly ushort ignore;
    readonly uint[] rented;

    public ByteHistogram(int numClasses, int? ignoreIndex) : base(numClasses, ignoreIndex)
    {
        k = Math.Min(numClasses, 256);
        shift = k == 256 ? 8 : 32 - BitOperations.LeadingZeroCount((uint)k); // 1 << shift > K: room for column K
        cells = (k + 1) << shift;
        // An ignore index outside the byte range never matches; 0xFFFF is outside the widened label range 0..255.
        ignore = ignoreIndex is >= 0 and <= 255 ? (ushort)ignoreIndex.Value : ushort.MaxValue;
        rented = ArrayPool<uint>.Shared.Rent(SubHistograms * cells);
        rented.AsSpan(0, SubHistograms * cells).Clear();
    }

    public override void Add(byte* g, byte* p, int n)
    {
        fixed (uint* h0 = rented)
            CountCells(g, p, n, k, ignore, shift, h0, cells);
    }

    public override bool MoveTo(long[] delta)
    {
        var h = rented.AsSpan(0, SubHistograms * cells);
        for (int s = 1; s < SubHistograms; s++)
            for (int cell = 0; cell < cells; cell++)
                h[cell] += h[s * cells + cell];
        int stride = 1 << shift;
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

    /// <summary>The hot loop, a static method without exception handling so the JIT keeps its pointers and constants
    /// in registers.</summary>
    static void CountCells(byte* g, byte* p, int n, int k, ushort ignore, int shift, uint* h0, int cells)
    {
        uint* h1 = h0 + cells, h2 = h1 + cells, h3 = h2 + cells;
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var kv = Vector256.Create((ushort)k);
            var ignoreV = Vector256.Create(ignore);
            ushort* index = stackalloc ushort[Block];
            for (; i <= n - Block; i += Block)
            {
                var gv = Vector256.Load(g + i);
                var pv = Vector256.Load(p + i);
                if (gv == Vector256.Create(g[i]) && pv == Vector256.Create(p[i]))
                {
                    h0[CellIndex(g[i], p[i], k, ignore, shift)] += Block;
                    continue;
                }
                var (gLow, gHigh) = Vector256.Widen(gv);
                var (pLow, pHigh) = Vector256.Widen(pv);
                CellIndices(gLow, pLow, kv, ignoreV, shift).Store(index);
                CellIndices(gHigh, pHigh, kv, ignoreV, shift).Store(index + Block / 2);
                for (ushort* q = index; q < index + Block; q += 8)
                {
                    h0[q[0]]++;
                    h1[q[1]]++;
                    h2[q[2]]++;
                    h3[q[3]]++;
                    h0[q[4]]++;
                    h1[q[5]]++;
                    h2[q[6]]++;
                    h3[q[7]]++;
                }
            }
        }
        for (; i < n; i++)
            h0[CellIndex(g[i], p[i], k, ignore, shift)]++;
    }

    /// <summary>The cell index for 16 pixels (labels widened to 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ushort> CellIndices(Vector256<ushort> g, Vector256<ushort> p, Vector256<ushort> k, Vector256<ushort> ignore, int shift)
    {
        var isClass = Vector256.LessThan(g, k);
        var row = Vector256.ConditionalSelect(isClass, g, k);
        var col = Vector256.ConditionalSelect(isClass | Vector256.Equals(g, ignore), Vector256.Min(p, k), k);
        return Vector256.ShiftLeft(row, shift) | col;
    }

    /// <summary>The cell index for one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int CellIndex(byte g, byte p, int k, ushort ignore, int shift)
    {
        bool isClass = g < k;
        int row = isClass ? g : k;
        int col = isClass || g == ignore ? Math.Min(p, k) : k;
        return row << shift | col;
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
        long c = NumClasses;
        bool hasIgnore = IgnoreIndex.HasValue;
        long ignore = IgnoreIndex.GetValueOrDefault();
        for (int i = 0; i < n && valid; i++)
        {
            long gv = long.CreateTruncating(g[i]), pv = long.CreateTruncating(p[i]);
            if ((ulong)pv >= (ulong)c)
                valid = false;
            else if ((ulong)gv < (ulong)c)
                rented[gv * c + pv]++;
            else if (hasIgnore && gv == ignore)
                ignored++;
            else
                valid = false;
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
