using System.Buffers;
using System.Numerics;
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

    /// <summary>Sub-histograms the byte kernel rotates through: consecutive pixels of a mask usually hit the same
    /// cell, and incrementing one counter back to back stalls on store-to-load forwarding.</summary>
    const int SubHistograms = 4;

    /// <summary>Pixels checked at once for a uniform run (same GT and same prediction), counted with one add.</summary>
    const int Block = 32;

    /// <summary>
    /// Counts byte labels. Histogram rows are 256 wide, so every byte prediction indexes inside its row: columns at and
    /// beyond C collect out-of-range predictions, row R (R = min(C, 256)) collects ignored GT pixels and row R+1 GT
    /// labels that are neither classes nor the ignore index. The hot loop is thus branch-free and the range checks
    /// cost nothing per pixel: invalid labels are detected afterwards from those cells.
    /// </summary>
    /// <returns>False when the range holds an invalid label (the delta is then incomplete and must be discarded).</returns>
    internal static bool CountBytes(byte* g, byte* p, int n, int numClasses, int? ignoreIndex, long[] delta)
    {
        int c = numClasses, r = Math.Min(c, 256), rowCells = (r + 2) * 256;
        int* rowStart = stackalloc int[256];
        for (int v = 0; v < 256; v++)
            rowStart[v] = (v < c ? v : v == ignoreIndex ? r : r + 1) * 256;

        var rented = ArrayPool<uint>.Shared.Rent(SubHistograms * rowCells);
        try
        {
            var histograms = rented.AsSpan(0, SubHistograms * rowCells);
            histograms.Clear();
            fixed (uint* h0 = histograms)
            {
                uint* h1 = h0 + rowCells, h2 = h1 + rowCells, h3 = h2 + rowCells;
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    for (; i <= n - Block; i += Block)
                    {
                        byte gi = g[i], pi = p[i];
                        if (Vector256.Load(g + i) == Vector256.Create(gi) && Vector256.Load(p + i) == Vector256.Create(pi))
                        {
                            h0[rowStart[gi] + pi] += Block;
                            continue;
                        }
                        for (int k = i; k < i + Block; k += 4)
                        {
                            h0[rowStart[g[k]] + p[k]]++;
                            h1[rowStart[g[k + 1]] + p[k + 1]]++;
                            h2[rowStart[g[k + 2]] + p[k + 2]]++;
                            h3[rowStart[g[k + 3]] + p[k + 3]]++;
                        }
                    }
                }
                for (; i <= n - 4; i += 4)
                {
                    h0[rowStart[g[i]] + p[i]]++;
                    h1[rowStart[g[i + 1]] + p[i + 1]]++;
                    h2[rowStart[g[i + 2]] + p[i + 2]]++;
                    h3[rowStart[g[i + 3]] + p[i + 3]]++;
                }
                for (; i < n; i++)
                    h0[rowStart[g[i]] + p[i]]++;

                for (int s = 0; s < SubHistograms; s++)
                {
                    var sub = histograms.Slice(s * rowCells, rowCells);
                    if (sub.Slice((r + 1) * 256, 256).ContainsAnyExcept(0u))
                        return false; // a GT label that is neither a class nor the ignore index
                    for (int row = 0; row <= r; row++)
                    {
                        var cells = sub.Slice(row * 256, 256);
                        if (c < 256 && cells[c..].ContainsAnyExcept(0u))
                            return false; // a prediction outside [0, C)
                        int deltaRow = row < r ? row * c : c * c;
                        for (int col = 0; col < r; col++)
                            if (cells[col] != 0)
                            {
                                if (row < r) delta[deltaRow + col] += cells[col];
                                else delta[deltaRow] += cells[col];
                            }
                    }
                }
            }
            return true;
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(rented);
        }
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
        try
        {
            var histogram = rented.AsSpan(0, numClasses * numClasses);
            histogram.Clear();
            long ignored = 0;
            for (int i = 0; i < n; i++)
            {
                long gv = long.CreateTruncating(g[i]), pv = long.CreateTruncating(p[i]);
                if ((ulong)pv >= (ulong)c)
                    return false;
                if ((ulong)gv >= (ulong)c)
                {
                    if (hasIgnore && gv == ignore) { ignored++; continue; }
                    return false;
                }
                histogram[(int)(gv * c + pv)]++;
            }
            for (int k = 0; k < histogram.Length; k++)
                delta[k] += histogram[k];
            delta[histogram.Length] += ignored;
            return true;
        }
        finally
        {
            ArrayPool<uint>.Shared.Return(rented);
        }
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
