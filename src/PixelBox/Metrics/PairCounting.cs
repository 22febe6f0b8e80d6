using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace PixelBox.Metrics;

/// <summary>
/// The counting kernels behind <see cref="ConfusionMatrix"/>: histograms of (ground truth, prediction) label pairs.
/// Each kernel counts one contiguous range into a fresh delta (C*C pair counts, then the ignored-pixel count) and
/// reports whether the range held an invalid label; the caller adds the deltas only when no range did, so a failed
/// update leaves the matrix untouched.
/// </summary>
internal static unsafe class PairCounting
{
    /// <summary>Pixels per thread below which a second thread costs more than it saves (thread hand-off is tens of
    /// microseconds; the byte kernel counts ~1-2 pixels per nanosecond).</summary>
    internal const int MinPixelsPerThread = 1 << 16;

    /// <summary>Sub-histograms the byte kernel rotates through: neighbouring pixels often hit the same cell, and
    /// incrementing one counter back to back stalls on store-to-load forwarding.</summary>
    const int SubHistograms = 4;

    /// <summary>Pixels per SIMD step (one Vector256 of bytes).</summary>
    const int Block = 32;

    /// <summary>
    /// Counts byte labels. Each pixel becomes a histogram cell index (row &lt;&lt; shift) | col in SIMD, 16 pixels per
    /// vector, and the scalar part only increments cells. Validation is folded into the index so the hot loop has no
    /// branches: with K = min(C, 256), a GT label g &lt; K gives row g, anything else row K (the ignore row, which is
    /// discarded); col = min(pred, K), so column K collects out-of-range predictions, and a GT label that is neither a
    /// class nor the ignore index is sent to column K as well. Any count in column K therefore means an invalid label
    /// (only possible for C &lt; 256: for C ≥ 256 every byte is a class). Blocks where GT and prediction are both
    /// constant — most of a real mask — are counted with a single add.
    /// </summary>
    /// <returns>False when the range holds an invalid label (the delta is then incomplete and must be discarded).</returns>
    internal static bool CountBytes(byte* g, byte* p, int n, int numClasses, int? ignoreIndex, long[] delta)
    {
        int k = Math.Min(numClasses, 256);
        int shift = k == 256 ? 8 : 32 - BitOperations.LeadingZeroCount((uint)k); // 1 << shift > K: room for column K
        int rows = k + 1, cells = rows << shift;
        // An ignore index outside the byte range never matches; 0xFFFF is outside the widened label range 0..255.
        ushort ignore = ignoreIndex is >= 0 and <= 255 ? (ushort)ignoreIndex.Value : ushort.MaxValue;

        var rented = ArrayPool<uint>.Shared.Rent(SubHistograms * cells);
        var histograms = rented.AsSpan(0, SubHistograms * cells);
        histograms.Clear();
        bool valid = true;
        fixed (uint* h0 = histograms)
        {
            CountCells(g, p, n, k, ignore, shift, h0, cells);
            for (int s = 1; s < SubHistograms; s++)
                for (int cell = 0; cell < cells; cell++)
                    h0[cell] += h0[s * cells + cell];
            int stride = 1 << shift;
            if (k < 256)
                for (int row = 0; row < rows; row++)
                    valid &= h0[row * stride + k] == 0;
            for (int row = 0; row < k; row++)
                for (int col = 0; col < k; col++)
                    delta[row * numClasses + col] += h0[row * stride + col];
            for (int col = 0; col < k; col++)
                delta[^1] += h0[k * stride + col];
        }
        ArrayPool<uint>.Shared.Return(rented);
        return valid;
    }

    /// <summary>The hot loop of <see cref="CountBytes"/>, kept free of exception handling so the JIT keeps its
    /// pointers and constants in registers.</summary>
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

    /// <summary>The cell index of <see cref="CountBytes"/> for 16 pixels (labels widened to 16 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ushort> CellIndices(Vector256<ushort> g, Vector256<ushort> p, Vector256<ushort> k, Vector256<ushort> ignore, int shift)
    {
        var isClass = Vector256.LessThan(g, k);
        var row = Vector256.ConditionalSelect(isClass, g, k);
        var col = Vector256.ConditionalSelect(isClass | Vector256.Equals(g, ignore), Vector256.Min(p, k), k);
        return Vector256.ShiftLeft(row, shift) | col;
    }

    /// <summary>The cell index of <see cref="CountBytes"/> for one pixel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int CellIndex(byte g, byte p, int k, ushort ignore, int shift)
    {
        bool isClass = g < k;
        int row = isClass ? g : k;
        int col = isClass || g == ignore ? Math.Min(p, k) : k;
        return row << shift | col;
    }

    /// <summary>Counts int or long labels with explicit range checks; simpler than the byte kernel since such labels
    /// come from tensors (argmax output, loss targets), where the surrounding tensor work dominates.</summary>
    internal static bool CountWide<T>(T* g, T* p, int n, int numClasses, int? ignoreIndex, long[] delta)
        where T : unmanaged, IBinaryInteger<T>
    {
        long c = numClasses;
        bool hasIgnore = ignoreIndex.HasValue;
        long ignore = ignoreIndex.GetValueOrDefault();
        var rented = ArrayPool<uint>.Shared.Rent(numClasses * numClasses);
        var histogram = rented.AsSpan(0, numClasses * numClasses);
        histogram.Clear();
        long ignored = 0;
        bool valid = true;
        for (int i = 0; i < n; i++)
        {
            long gv = long.CreateTruncating(g[i]), pv = long.CreateTruncating(p[i]);
            if ((ulong)pv >= (ulong)c)
            {
                valid = false;
                break;
            }
            if ((ulong)gv >= (ulong)c)
            {
                if (hasIgnore && gv == ignore) { ignored++; continue; }
                valid = false;
                break;
            }
            histogram[(int)(gv * c + pv)]++;
        }
        for (int k = 0; k < histogram.Length; k++)
            delta[k] += histogram[k];
        delta[histogram.Length] += ignored;
        ArrayPool<uint>.Shared.Return(rented);
        return valid;
    }

    /// <summary>The first invalid label in the range, in element order (GT checked before prediction at the same
    /// element); null if all are valid. Only runs after a kernel reported a problem.</summary>
    internal static LabelOutOfRangeException? FirstInvalid<T>(T* g, T* p, long n, int numClasses, int? ignoreIndex)
        where T : unmanaged, IBinaryInteger<T>
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
