using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PixelBox.Boxes;

/// <summary>
/// Non-maximum suppression over boxes (x1, y1, x2, y2), flattened 4 numbers per box, with
/// torchvision's exact semantics (torchvision/csrc/ops/cpu/nms_kernel.cpp, 0.14):
/// <code>
///   order = scores sorted descending, stable (NaN first, as torch.sort)
///   area  = (x2 - x1) * (y2 - y1)                                  in the boxes' precision
///   for each box i in order, unless suppressed: keep i; for each later j in order:
///     w = max(0, min(x2_i, x2_j) - max(x1_i, x1_j)),  h likewise    (std::max / std::min)
///     iou = w*h / (area_i + area_j - w*h)
///     suppress j if iou > iou_threshold                             (float iou, double threshold)
/// </code>
/// The result is the kept indices in decreasing score order, equal to torchvision's including ties
/// (stable order), zero-area boxes (IoU 0/0 = NaN never suppresses) and NaN/infinite inputs.
/// <para>
/// Speed: the boxes are also grouped into spatial blocks of 16 (Z-order of their centres) with the
/// block's extent; a kept box visits only blocks whose extent overlaps it and computes the IoUs of a
/// block with SIMD, in the same float operations as the reference (so the same decisions). A box that
/// does not overlap the kept one has intersection 0 and IoU 0 or NaN, never above a threshold >= 0,
/// so skipping it changes nothing. Non-finite coordinates or a negative threshold take the plain loop.
/// </para>
/// </summary>
public static class Nms
{
    /// <summary>torchvision.ops.nms: kept indices, highest score first.</summary>
    public static int[] Keep(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, double iouThreshold) =>
        KeepCore(boxes, scores, iouThreshold);

    /// <summary>torchvision.ops.nms on float64 boxes (computed in double, as torchvision does for them).</summary>
    public static int[] Keep(ReadOnlySpan<double> boxes, ReadOnlySpan<double> scores, double iouThreshold) =>
        KeepCore(boxes, scores, iouThreshold);

    /// <summary>
    /// torchvision.ops.batched_nms: NMS within each class, kept indices highest score first. As torchvision
    /// 0.14 on the CPU: up to 1,000 boxes the coordinate-offset trick (each class shifted by
    /// class * (max coordinate + 1), in the boxes' precision, then one NMS), above that one NMS per class
    /// and a final sort by score (ties: lower index first, where torchvision's unstable sort may differ).
    /// </summary>
    public static int[] KeepBatched(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, ReadOnlySpan<long> classes, double iouThreshold) =>
        scores.Length * 4 > 4000
            ? KeepPerClassCore(boxes, scores, classes, iouThreshold)
            : KeepCoordinateTrick(boxes, scores, classes, iouThreshold);

    /// <inheritdoc cref="KeepBatched(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{long}, double)"/>
    public static int[] KeepBatched(ReadOnlySpan<double> boxes, ReadOnlySpan<double> scores, ReadOnlySpan<long> classes, double iouThreshold) =>
        scores.Length * 4 > 4000
            ? KeepPerClassCore(boxes, scores, classes, iouThreshold)
            : KeepCoordinateTrick(boxes, scores, classes, iouThreshold);

    /// <summary>
    /// NMS within each class, each class's IoUs computed on its own boxes (torchvision's
    /// _batched_nms_vanilla, whatever the count); kept indices highest score first, ties by index.
    /// </summary>
    public static int[] KeepPerClass(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, ReadOnlySpan<long> classes, double iouThreshold) =>
        KeepPerClassCore(boxes, scores, classes, iouThreshold);

    /// <inheritdoc cref="KeepPerClass(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{long}, double)"/>
    public static int[] KeepPerClass(ReadOnlySpan<double> boxes, ReadOnlySpan<double> scores, ReadOnlySpan<long> classes, double iouThreshold) =>
        KeepPerClassCore(boxes, scores, classes, iouThreshold);

    // ------------------------------------------------------------------------------------------------

    static void CheckShapes<T>(ReadOnlySpan<T> boxes, int n)
    {
        if (boxes.Length != 4 * n)
            throw new ArgumentException($"boxes must hold 4 numbers per score: {boxes.Length} numbers for {n} scores");
    }

    static int[] KeepCoordinateTrick<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, ReadOnlySpan<long> classes, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        CheckShapes(boxes, n);
        if (classes.Length != n)
            throw new ArgumentException($"classes must have one entry per score: {classes.Length} for {n}");
        if (n == 0)
            return [];
        // torch.max propagates NaN
        T max = boxes[0];
        foreach (var v in boxes)
            if (T.IsNaN(v) || v > max)
            {
                max = v;
                if (T.IsNaN(v))
                    break;
            }
        T unit = max + T.One;
        var shifted = new T[boxes.Length];
        for (int i = 0; i < n; i++)
        {
            T offset = T.CreateChecked(classes[i]) * unit;
            for (int k = 0; k < 4; k++)
                shifted[4 * i + k] = boxes[4 * i + k] + offset;
        }
        return KeepCore<T>(shifted, scores, iouThreshold);
    }

    static int[] KeepPerClassCore<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, ReadOnlySpan<long> classes, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        CheckShapes(boxes, n);
        if (classes.Length != n)
            throw new ArgumentException($"classes must have one entry per score: {classes.Length} for {n}");
        if (n == 0)
            return [];
        // members of each class in index order: sort (class, index) pairs
        var byClass = new (long Class, int Index)[n];
        for (int i = 0; i < n; i++)
            byClass[i] = (classes[i], i);
        Array.Sort(byClass);
        var keepMask = new bool[n];
        var subBoxes = new T[4 * n];
        var subScores = new T[n];
        var members = new int[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end < n && byClass[end].Class == byClass[start].Class)
                end++;
            int m = end - start;
            for (int k = 0; k < m; k++)
            {
                int i = byClass[start + k].Index;
                members[k] = i;
                subScores[k] = scores[i];
                boxes.Slice(4 * i, 4).CopyTo(subBoxes.AsSpan(4 * k, 4));
            }
            foreach (var k in KeepCore<T>(subBoxes.AsSpan(0, 4 * m), subScores.AsSpan(0, m), iouThreshold))
                keepMask[members[k]] = true;
            start = end;
        }
        int kept = 0;
        for (int i = 0; i < n; i++)
            if (keepMask[i])
                members[kept++] = i;
        var keptScores = new T[kept];
        for (int k = 0; k < kept; k++)
            keptScores[k] = scores[members[k]];
        var order = ScoreOrder.Descending<T>(keptScores);
        var result = new int[kept];
        for (int k = 0; k < kept; k++)
            result[k] = members[order[k]];
        return result;
    }

    // Below this many boxes the plain loop is as fast as building blocks.
    const int BlockedMinBoxes = 48;
    const int BlockSize = 16;

    static int[] KeepCore<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        CheckShapes(boxes, n);
        if (n == 0)
            return [];
        var order = ScoreOrder.Descending(scores);
        // box coordinates in score order (rank r = position in order)
        var x1 = new T[n];
        var y1 = new T[n];
        var x2 = new T[n];
        var y2 = new T[n];
        var area = new T[n];
        bool finite = true;
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            T a = boxes[4 * i], b = boxes[4 * i + 1], c = boxes[4 * i + 2], d = boxes[4 * i + 3];
            (x1[r], y1[r], x2[r], y2[r]) = (a, b, c, d);
            area[r] = (c - a) * (d - b);
            finite &= T.IsFinite(a) && T.IsFinite(b) && T.IsFinite(c) && T.IsFinite(d);
        }
        bool[] suppressed;
        if (!finite || !(iouThreshold >= 0) || n < BlockedMinBoxes)
            suppressed = Sequential(x1, y1, x2, y2, area, iouThreshold);
        else
            suppressed = new BlockedSuppression<T>(x1, y1, x2, y2, area, ThresholdBelow<T>(iouThreshold)).Run();
        int kept = 0;
        for (int r = 0; r < n; r++)
            if (!suppressed[r])
                kept++;
        var keep = new int[kept];
        kept = 0;
        for (int r = 0; r < n; r++)
            if (!suppressed[r])
                keep[kept++] = order[r];
        return keep;
    }

    /// <summary>The reference loop, operation for operation (std::max(a, b) = a &lt; b ? b : a).</summary>
    static bool[] Sequential<T>(T[] x1, T[] y1, T[] x2, T[] y2, T[] area, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = x1.Length;
        var suppressed = new bool[n];
        for (int r = 0; r < n; r++)
        {
            if (suppressed[r])
                continue;
            T ix1 = x1[r], iy1 = y1[r], ix2 = x2[r], iy2 = y2[r], iarea = area[r];
            for (int s = r + 1; s < n; s++)
            {
                if (suppressed[s])
                    continue;
                T xx1 = StdMax(ix1, x1[s]), yy1 = StdMax(iy1, y1[s]);
                T xx2 = StdMin(ix2, x2[s]), yy2 = StdMin(iy2, y2[s]);
                T w = StdMax(T.Zero, xx2 - xx1), h = StdMax(T.Zero, yy2 - yy1);
                T inter = w * h;
                T iou = inter / (iarea + area[s] - inter);
                if (double.CreateChecked(iou) > iouThreshold)
                    suppressed[s] = true;
            }
        }
        return suppressed;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T StdMax<T>(T a, T b) where T : IFloatingPointIeee754<T> => a < b ? b : a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T StdMin<T>(T a, T b) where T : IFloatingPointIeee754<T> => b < a ? b : a;

    /// <summary>
    /// The largest T at or below <paramref name="threshold"/>: for any T value v,
    /// (double)v &gt; threshold exactly when v &gt; this (the kernel compares a float IoU with a double).
    /// </summary>
    internal static T ThresholdBelow<T>(double threshold) where T : IFloatingPointIeee754<T>
    {
        T t = T.CreateSaturating(threshold);
        if (double.CreateChecked(t) > threshold)
            t = T.BitDecrement(t);
        return t;
    }

    /// <summary>The blocked, vectorised suppression (finite coordinates, threshold &gt;= 0).</summary>
    sealed class BlockedSuppression<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        readonly T[] _x1, _y1, _x2, _y2, _area;
        readonly T _threshold;
        readonly int _n, _blocks;
        // members of the blocks, BlockSize slots each (padding: rank -1, coordinates 0)
        readonly T[] _mx1, _my1, _mx2, _my2, _marea;
        readonly int[] _mrank;
        // per block: extent of its members and their highest rank
        readonly T[] _bx1, _by1, _bx2, _by2;
        readonly int[] _bmaxRank;

        public BlockedSuppression(T[] x1, T[] y1, T[] x2, T[] y2, T[] area, T threshold)
        {
            (_x1, _y1, _x2, _y2, _area, _threshold) = (x1, y1, x2, y2, area, threshold);
            _n = x1.Length;
            _blocks = (_n + BlockSize - 1) / BlockSize;
            int slots = _blocks * BlockSize;
            _mx1 = new T[slots];
            _my1 = new T[slots];
            _mx2 = new T[slots];
            _my2 = new T[slots];
            _marea = new T[slots];
            _mrank = new int[slots];
            int vec = Vector256<T>.Count;
            int paddedBlocks = (_blocks + vec - 1) / vec * vec;
            _bx1 = new T[paddedBlocks];
            _by1 = new T[paddedBlocks];
            _bx2 = new T[paddedBlocks];
            _by2 = new T[paddedBlocks];
            _bmaxRank = new int[paddedBlocks];
            Build();
        }

        void Build()
        {
            var spatial = SpatialOrder();
            _mrank.AsSpan().Fill(-1);
            // padding blocks: an empty extent that overlaps nothing
            _bx1.AsSpan().Fill(T.PositiveInfinity);
            _by1.AsSpan().Fill(T.PositiveInfinity);
            _bx2.AsSpan().Fill(T.NegativeInfinity);
            _by2.AsSpan().Fill(T.NegativeInfinity);
            _bmaxRank.AsSpan().Fill(-1);
            for (int k = 0; k < _n; k++)
            {
                int r = spatial[k], b = k / BlockSize;
                (_mx1[k], _my1[k], _mx2[k], _my2[k], _marea[k], _mrank[k]) = (_x1[r], _y1[r], _x2[r], _y2[r], _area[r], r);
                _bx1[b] = T.Min(_bx1[b], _x1[r]);
                _by1[b] = T.Min(_by1[b], _y1[r]);
                _bx2[b] = T.Max(_bx2[b], _x2[r]);
                _by2[b] = T.Max(_by2[b], _y2[r]);
                _bmaxRank[b] = Math.Max(_bmaxRank[b], r);
            }
        }

        /// <summary>Ranks in Z-order of the box centres, so that a block's members lie close together.</summary>
        int[] SpatialOrder()
        {
            double minX = double.PositiveInfinity, minY = double.PositiveInfinity;
            double maxX = double.NegativeInfinity, maxY = double.NegativeInfinity;
            var cx = new double[_n];
            var cy = new double[_n];
            for (int r = 0; r < _n; r++)
            {
                cx[r] = double.CreateChecked(_x1[r]) * 0.5 + double.CreateChecked(_x2[r]) * 0.5;
                cy[r] = double.CreateChecked(_y1[r]) * 0.5 + double.CreateChecked(_y2[r]) * 0.5;
                minX = Math.Min(minX, cx[r]);
                maxX = Math.Max(maxX, cx[r]);
                minY = Math.Min(minY, cy[r]);
                maxY = Math.Max(maxY, cy[r]);
            }
            double sx = maxX > minX ? 65535 / (maxX - minX) : 0, sy = maxY > minY ? 65535 / (maxY - minY) : 0;
            var keys = new ulong[_n];
            for (int r = 0; r < _n; r++)
            {
                uint qx = (uint)Math.Clamp((cx[r] - minX) * sx, 0, 65535);
                uint qy = (uint)Math.Clamp((cy[r] - minY) * sy, 0, 65535);
                keys[r] = ((ulong)(Spread(qx) | Spread(qy) << 1) << 32) | (uint)r;
            }
            Array.Sort(keys);
            var spatial = new int[_n];
            for (int k = 0; k < _n; k++)
                spatial[k] = (int)(uint)keys[k];
            return spatial;
        }

        /// <summary>The 16 low bits of <paramref name="v"/> spread to the even bit positions.</summary>
        static uint Spread(uint v)
        {
            v &= 0xFFFF;
            v = (v | v << 8) & 0x00FF00FF;
            v = (v | v << 4) & 0x0F0F0F0F;
            v = (v | v << 2) & 0x33333333;
            v = (v | v << 1) & 0x55555555;
            return v;
        }

        public bool[] Run()
        {
            var suppressed = new bool[_n];
            int vec = Vector256<T>.Count;
            for (int r = 0; r < _n; r++)
            {
                if (suppressed[r])
                    continue;
                var ix1 = Vector256.Create(_x1[r]);
                var iy1 = Vector256.Create(_y1[r]);
                var ix2 = Vector256.Create(_x2[r]);
                var iy2 = Vector256.Create(_y2[r]);
                for (int b0 = 0; b0 < _bx1.Length; b0 += vec)
                {
                    // blocks whose extent strictly overlaps box r
                    var hit = Vector256.LessThan(Load(_bx1, b0), ix2)
                              & Vector256.GreaterThan(Load(_bx2, b0), ix1)
                              & Vector256.LessThan(Load(_by1, b0), iy2)
                              & Vector256.GreaterThan(Load(_by2, b0), iy1);
                    uint bits = hit.ExtractMostSignificantBits();
                    while (bits != 0)
                    {
                        int b = b0 + BitOperations.TrailingZeroCount(bits);
                        bits &= bits - 1;
                        if (_bmaxRank[b] > r)
                            SuppressInBlock(b, r, suppressed);
                    }
                }
            }
            return suppressed;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<T> Load(T[] array, int at) =>
            Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)at);

        void SuppressInBlock(int block, int r, bool[] suppressed)
        {
            var ix1 = Vector256.Create(_x1[r]);
            var iy1 = Vector256.Create(_y1[r]);
            var ix2 = Vector256.Create(_x2[r]);
            var iy2 = Vector256.Create(_y2[r]);
            var iarea = Vector256.Create(_area[r]);
            var threshold = Vector256.Create(_threshold);
            var zero = Vector256<T>.Zero;
            int vec = Vector256<T>.Count;
            for (int k = block * BlockSize, end = k + BlockSize; k < end; k += vec)
            {
                var x1 = Load(_mx1, k);
                var y1 = Load(_my1, k);
                var x2 = Load(_mx2, k);
                var y2 = Load(_my2, k);
                // std::max(a, b) = a < b ? b : a and std::min(a, b) = b < a ? b : a, operands as in the kernel
                var xx1 = Vector256.ConditionalSelect(Vector256.LessThan(ix1, x1), x1, ix1);
                var yy1 = Vector256.ConditionalSelect(Vector256.LessThan(iy1, y1), y1, iy1);
                var xx2 = Vector256.ConditionalSelect(Vector256.LessThan(x2, ix2), x2, ix2);
                var yy2 = Vector256.ConditionalSelect(Vector256.LessThan(y2, iy2), y2, iy2);
                var dw = xx2 - xx1;
                var dh = yy2 - yy1;
                var w = Vector256.ConditionalSelect(Vector256.LessThan(zero, dw), dw, zero);
                var h = Vector256.ConditionalSelect(Vector256.LessThan(zero, dh), dh, zero);
                var inter = w * h;
                var iou = inter / (iarea + Load(_marea, k) - inter);
                uint bits = Vector256.GreaterThan(iou, threshold).ExtractMostSignificantBits();
                while (bits != 0)
                {
                    int rank = _mrank[k + BitOperations.TrailingZeroCount(bits)];
                    bits &= bits - 1;
                    if (rank > r)
                        suppressed[rank] = true;
                }
            }
        }
    }
}

/// <summary>Stable descending orders of scores, NaN first (torch.sort(descending=True, stable=True)).</summary>
public static class ScoreOrder
{
    /// <summary>Indices of <paramref name="scores"/> from highest to lowest; equal scores (and -0/+0) keep index order.</summary>
    public static int[] Descending<T>(ReadOnlySpan<T> scores) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        var order = new int[n];
        if (typeof(T) == typeof(float))
        {
            // one 64-bit key per score: descending score bits above the index, sorted ascending
            var keys = new ulong[n];
            for (int i = 0; i < n; i++)
                keys[i] = (ulong)DescendingKey(float.CreateTruncating(scores[i])) << 32 | (uint)i;
            Array.Sort(keys);
            for (int i = 0; i < n; i++)
                order[i] = (int)(uint)keys[i];
            return order;
        }
        var pairs = new (ulong Key, int Index)[n];
        for (int i = 0; i < n; i++)
            pairs[i] = (DescendingKey(double.CreateTruncating(scores[i])), i);
        Array.Sort(pairs);
        for (int i = 0; i < n; i++)
            order[i] = pairs[i].Index;
        return order;
    }

    /// <summary>A key whose ascending order is the score's descending order; every NaN sorts first.</summary>
    static uint DescendingKey(float score)
    {
        if (float.IsNaN(score))
            return 0;
        uint bits = BitConverter.SingleToUInt32Bits(score == 0 ? 0f : score);
        uint ascending = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        // ascending is at least 0x007FFFFF (-inf) and at most 0xFF800000 (+inf), so ~ascending > 0
        return ~ascending;
    }

    static ulong DescendingKey(double score)
    {
        if (double.IsNaN(score))
            return 0;
        ulong bits = BitConverter.DoubleToUInt64Bits(score == 0 ? 0d : score);
        ulong ascending = (bits & 0x8000_0000_0000_0000) != 0 ? ~bits : bits | 0x8000_0000_0000_0000;
        return ~ascending;
    }
}
