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
/// The hot loops are compiled fully optimised at once (AggressiveOptimization): SIMD code in tier-0
/// JIT output is many times slower, and a CLI process never runs long enough to tier up.
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        // Classes whose shifted boxes occupy disjoint x ranges cannot suppress each other: then NMS within
        // each class (on the shifted boxes, as torchvision) gives the same indices in the same order.
        return ClassesApart(shifted, classes)
            ? KeepPerClassCore<T>(shifted, scores, classes, iouThreshold)
            : KeepCore<T>(shifted, scores, iouThreshold);
    }

    static bool ClassesApart<T>(T[] boxes, ReadOnlySpan<long> classes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // x range of each class (classes in ascending order), then: sorted by start, no range begins before
        // the end of an earlier one
        var byClass = GroupByClass(classes);
        var starts = new List<T>();
        var ends = new List<T>();
        for (int k = 0; k < byClass.Length; k++)
        {
            int i = byClass[k];
            T lo = boxes[4 * i], hi = boxes[4 * i + 2];
            if (!T.IsFinite(lo) || !T.IsFinite(hi))
                return false;
            if (k == 0 || classes[i] != classes[byClass[k - 1]])
            {
                starts.Add(lo);
                ends.Add(hi);
            }
            else
                (starts[^1], ends[^1]) = (T.Min(starts[^1], lo), T.Max(ends[^1], hi));
        }
        var s = starts.ToArray();
        var e = ends.ToArray();
        Array.Sort(s, e);
        T reach = T.NegativeInfinity;
        for (int c = 0; c < s.Length; c++)
        {
            if (s[c] < reach)
                return false;
            reach = T.Max(reach, e[c]);
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int[] KeepPerClassCore<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, ReadOnlySpan<long> classes, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        CheckShapes(boxes, n);
        if (classes.Length != n)
            throw new ArgumentException($"classes must have one entry per score: {classes.Length} for {n}");
        if (n == 0)
            return [];
        var byClass = GroupByClass(classes);
        var keepMask = new bool[n];
        var subBoxes = new T[4 * n];
        var subScores = new T[n];
        var members = new int[n];
        for (int start = 0; start < n;)
        {
            int end = start;
            while (end < n && classes[byClass[end]] == classes[byClass[start]])
                end++;
            int m = end - start;
            if (m <= SmallGroup)
            {
                KeepSmallGroup(boxes, scores, byClass.AsSpan(start, m), iouThreshold, keepMask);
                start = end;
                continue;
            }
            for (int k = 0; k < m; k++)
            {
                int i = byClass[start + k];
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

    const int SmallGroup = 32;

    /// <summary>
    /// The reference loop on a few boxes given by index (ascending), without copying them out: stable
    /// descending score order (NaN first) by insertion sort, then the kernel's comparisons.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void KeepSmallGroup<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, Span<int> members, double iouThreshold, bool[] keepMask)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = members.Length;
        Span<int> order = stackalloc int[m];
        for (int k = 0; k < m; k++)
        {
            int i = members[k], at = k;
            while (at > 0 && Before(scores[i], scores[order[at - 1]]))
            {
                order[at] = order[at - 1];
                at--;
            }
            order[at] = i;
        }
        Span<bool> suppressed = stackalloc bool[m];
        for (int a = 0; a < m; a++)
        {
            if (suppressed[a])
                continue;
            int i = order[a];
            keepMask[i] = true;
            T ix1 = boxes[4 * i], iy1 = boxes[4 * i + 1], ix2 = boxes[4 * i + 2], iy2 = boxes[4 * i + 3];
            T iarea = (ix2 - ix1) * (iy2 - iy1);
            for (int b = a + 1; b < m; b++)
            {
                if (suppressed[b])
                    continue;
                int j = order[b];
                T jx1 = boxes[4 * j], jy1 = boxes[4 * j + 1], jx2 = boxes[4 * j + 2], jy2 = boxes[4 * j + 3];
                T w = StdMax(T.Zero, StdMin(ix2, jx2) - StdMax(ix1, jx1));
                T h = StdMax(T.Zero, StdMin(iy2, jy2) - StdMax(iy1, jy1));
                T inter = w * h;
                T iou = inter / (iarea + (jx2 - jx1) * (jy2 - jy1) - inter);
                if (double.CreateChecked(iou) > iouThreshold)
                    suppressed[b] = true;
            }
        }
    }

    /// <summary>Whether score a sorts strictly before b in torch's descending order (NaN first).</summary>
    static bool Before<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.IsNaN(a) ? !T.IsNaN(b) : !T.IsNaN(b) && a > b;

    /// <summary>Indices grouped by class (classes ascending), each class's in index order.</summary>
    static int[] GroupByClass(ReadOnlySpan<long> classes)
    {
        int n = classes.Length;
        long min = long.MaxValue, max = long.MinValue;
        foreach (var c in classes)
            (min, max) = (Math.Min(min, c), Math.Max(max, c));
        var order = new int[n];
        if ((ulong)(max - min) <= uint.MaxValue)
        {
            // a stable radix sort of the offsets from the smallest class
            var keys = new uint[n];
            for (int i = 0; i < n; i++)
                keys[i] = (uint)(classes[i] - min);
            ScoreOrder.RadixSort(keys, order);
            return order;
        }
        var pairs = new (long Class, int Index)[n];
        for (int i = 0; i < n; i++)
            pairs[i] = (classes[i], i);
        Array.Sort(pairs);
        for (int i = 0; i < n; i++)
            order[i] = pairs[i].Index;
        return order;
    }

    // Below DenseMinBoxes the plain loop is fastest; below BlockedMinBoxes, comparing each kept box with
    // all later ones (SIMD) is faster than building the blocks.
    const int DenseMinBoxes = 16;
    const int BlockedMinBoxes = 2048;
    const int BlockSize = 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static int[] KeepCore<T>(ReadOnlySpan<T> boxes, ReadOnlySpan<T> scores, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = scores.Length;
        CheckShapes(boxes, n);
        if (n == 0)
            return [];
        var order = ScoreOrder.Descending(scores);
        // box coordinates in score order (rank r = position in order), padded with zeros to whole vectors
        int padded = (n + Vector256<T>.Count - 1) / Vector256<T>.Count * Vector256<T>.Count;
        var x1 = new T[padded];
        var y1 = new T[padded];
        var x2 = new T[padded];
        var y2 = new T[padded];
        var area = new T[padded];
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
        if (!finite || !(iouThreshold >= 0) || n < DenseMinBoxes)
            suppressed = Sequential(n, x1, y1, x2, y2, area, iouThreshold);
        else if (n < BlockedMinBoxes)
            suppressed = Dense(n, x1, y1, x2, y2, area, ThresholdBelow<T>(iouThreshold));
        else
            suppressed = new BlockedSuppression<T>(n, x1, y1, x2, y2, area, iouThreshold).Run();
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool[] Sequential<T>(int n, T[] x1, T[] y1, T[] x2, T[] y2, T[] area, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
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

    /// <summary>
    /// Each kept box against all later ones, a vector at a time (finite coordinates, threshold &gt;= 0;
    /// arrays padded to whole vectors with zero boxes, whose IoU is 0 or NaN). When many of the boxes
    /// still to come have been suppressed, the survivors are moved together (order kept), so that a
    /// heavily suppressing input gets cheaper as it goes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static bool[] Dense<T>(int n, T[] x1, T[] y1, T[] x2, T[] y2, T[] area, T threshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int vec = Vector256<T>.Count;
        var result = new bool[n];
        // position p holds rank[p]; positions below m are live, the rest zero padding
        var rank = new int[x1.Length];
        for (int r = 0; r < n; r++)
            rank[r] = r;
        var suppressed = new bool[x1.Length];
        int m = n, dead = 0;
        for (int p = 0; p < m; p++)
        {
            if (suppressed[p])
            {
                result[rank[p]] = true;
                continue;
            }
            var box = new QueryBox<T>(x1[p], y1[p], x2[p], y2[p], area[p], threshold);
            int s0 = (p + 1) / vec * vec;
            if (s0 >= m)
                continue;
            // the first vector may start at or before box p: only the later boxes count
            dead += Mark(box.Suppressing(x1, y1, x2, y2, area, s0) & (uint.MaxValue << (p + 1 - s0)), s0, suppressed);
            for (s0 += vec; s0 < m; s0 += vec)
                dead += Mark(box.Suppressing(x1, y1, x2, y2, area, s0), s0, suppressed);
            if (dead > 64 && 4 * dead > m - p)
            {
                m = Compact(p + 1, m, x1, y1, x2, y2, area, rank, suppressed, result);
                dead = 0;
            }
        }
        return result;
    }

    /// <summary>Moves the unsuppressed boxes of positions [from, m) together (recording the suppressed ones), zero-pads the rest; the new m.</summary>
    static int Compact<T>(int from, int m, T[] x1, T[] y1, T[] x2, T[] y2, T[] area, int[] rank, bool[] suppressed, bool[] result)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int to = from;
        for (int p = from; p < m; p++)
        {
            if (suppressed[p])
            {
                result[rank[p]] = true;
                continue;
            }
            (x1[to], y1[to], x2[to], y2[to], area[to], rank[to]) = (x1[p], y1[p], x2[p], y2[p], area[p], rank[p]);
            to++;
        }
        int end = Math.Min(x1.Length, (m + Vector256<T>.Count - 1) / Vector256<T>.Count * Vector256<T>.Count);
        foreach (var a in new[] { x1, y1, x2, y2, area })
            a.AsSpan(to, end - to).Clear();
        suppressed.AsSpan(from, end - from).Clear();
        return to;
    }

    /// <summary>Marks the boxes whose bits are set; how many were not marked before.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Mark(uint bits, int at, bool[] suppressed)
    {
        int marked = 0;
        while (bits != 0)
        {
            ref bool flag = ref suppressed[at + BitOperations.TrailingZeroCount(bits)];
            marked += flag ? 0 : 1;
            flag = true;
            bits &= bits - 1;
        }
        return marked;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> Load<T>(T[] array, int at) =>
        Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)at);

    /// <summary>A kept box, broadcast for comparing with a vector of boxes as the reference kernel does.</summary>
    readonly struct QueryBox<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        readonly Vector256<T> _x1, _y1, _x2, _y2, _area, _threshold;

        public QueryBox(T x1, T y1, T x2, T y2, T area, T threshold) =>
            (_x1, _y1, _x2, _y2, _area, _threshold) = (Vector256.Create(x1), Vector256.Create(y1), Vector256.Create(x2),
                Vector256.Create(y2), Vector256.Create(area), Vector256.Create(threshold));

        /// <summary>Bit k set when box at + k has IoU above the threshold with this one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint Suppressing(T[] x1s, T[] y1s, T[] x2s, T[] y2s, T[] areas, int at)
        {
            var x1 = Load(x1s, at);
            var y1 = Load(y1s, at);
            var x2 = Load(x2s, at);
            var y2 = Load(y2s, at);
            // std::max(a, b) = a < b ? b : a and std::min(a, b) = b < a ? b : a, operands as in the kernel
            var xx1 = Vector256.ConditionalSelect(Vector256.LessThan(_x1, x1), x1, _x1);
            var yy1 = Vector256.ConditionalSelect(Vector256.LessThan(_y1, y1), y1, _y1);
            var xx2 = Vector256.ConditionalSelect(Vector256.LessThan(x2, _x2), x2, _x2);
            var yy2 = Vector256.ConditionalSelect(Vector256.LessThan(y2, _y2), y2, _y2);
            var dw = xx2 - xx1;
            var dh = yy2 - yy1;
            var zero = Vector256<T>.Zero;
            var w = Vector256.ConditionalSelect(Vector256.LessThan(zero, dw), dw, zero);
            var h = Vector256.ConditionalSelect(Vector256.LessThan(zero, dh), dh, zero);
            var inter = w * h;
            // no overlap in any lane (the common case): IoU 0 or NaN everywhere, never above a threshold >= 0
            if (Vector256.EqualsAll(inter, zero))
                return 0;
            var iou = inter / (_area + Load(areas, at) - inter);
            return Vector256.GreaterThan(iou, _threshold).ExtractMostSignificantBits();
        }
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

    /// <summary>
    /// The blocked suppression (finite coordinates, threshold &gt;= 0). Boxes are grouped by size class and
    /// grid cell of their centres (Z-order) into blocks of <see cref="BlockSize"/>, blocks into super-blocks
    /// of 8, each with its members' extent. A kept box i can only suppress a box j whose IoU with it
    /// exceeds t, hence (exactly: inter &gt; t * union &gt;= t * w_i * h_i and inter &lt;= overlap_x * h_i)
    /// whose x-overlap exceeds t * w_i: x2_j &gt; x1_i + t w_i and x1_j &lt; x2_i - t w_i, likewise in y. Only
    /// blocks whose extent meets that (shrunk, for t = 0.5 to i's centre) window are compared, with the
    /// window widened a little (t * (1 - 1e-4)) to stay clear of rounding.
    /// </summary>
    sealed class BlockedSuppression<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        const int SuperSize = 8;
        readonly T[] _x1, _y1, _x2, _y2, _area;
        readonly T _threshold;
        readonly double _shrink;
        readonly int _n;
        // members of the blocks, BlockSize slots each (padding: rank -1, coordinates 0)
        readonly T[] _mx1, _my1, _mx2, _my2, _marea;
        readonly int[] _mrank;
        readonly Extents _blocks, _supers;

        /// <summary>Per group: the extent of its members (empty: +inf..-inf) and their highest rank.</summary>
        sealed class Extents(int count)
        {
            public readonly T[] X1 = Filled(count, T.PositiveInfinity), Y1 = Filled(count, T.PositiveInfinity);
            public readonly T[] X2 = Filled(count, T.NegativeInfinity), Y2 = Filled(count, T.NegativeInfinity);
            public readonly int[] MaxRank = Enumerable.Repeat(-1, count).ToArray();

            static T[] Filled(int n, T value)
            {
                var a = new T[n];
                a.AsSpan().Fill(value);
                return a;
            }

            public void Add(int group, T x1, T y1, T x2, T y2, int rank)
            {
                X1[group] = T.Min(X1[group], x1);
                Y1[group] = T.Min(Y1[group], y1);
                X2[group] = T.Max(X2[group], x2);
                Y2[group] = T.Max(Y2[group], y2);
                MaxRank[group] = Math.Max(MaxRank[group], rank);
            }

            /// <summary>Bit k set when group at + k may hold a box j with x2_j &gt; qx1, x1_j &lt; qx2, y alike.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public uint Meeting(int at, Vector256<T> qx1, Vector256<T> qy1, Vector256<T> qx2, Vector256<T> qy2) =>
                (Vector256.LessThan(Load(X1, at), qx2) & Vector256.GreaterThan(Load(X2, at), qx1)
                 & Vector256.LessThan(Load(Y1, at), qy2) & Vector256.GreaterThan(Load(Y2, at), qy1)).ExtractMostSignificantBits();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public BlockedSuppression(int n, T[] x1, T[] y1, T[] x2, T[] y2, T[] area, double iouThreshold)
        {
            (_n, _x1, _y1, _x2, _y2, _area) = (n, x1, y1, x2, y2, area);
            _threshold = ThresholdBelow<T>(iouThreshold);
            _shrink = Math.Max(0, iouThreshold * (1 - 1e-4));
            int vec = Vector256<T>.Count;
            int blocks = (_n + BlockSize - 1) / BlockSize;
            int supers = (blocks + SuperSize - 1) / SuperSize;
            int paddedSupers = (supers + vec - 1) / vec * vec;
            int slots = blocks * BlockSize;
            _mx1 = new T[slots];
            _my1 = new T[slots];
            _mx2 = new T[slots];
            _my2 = new T[slots];
            _marea = new T[slots];
            _mrank = new int[slots];
            _mrank.AsSpan().Fill(-1);
            _blocks = new Extents(paddedSupers * SuperSize);
            _supers = new Extents(paddedSupers);
            var spatial = SpatialOrder();
            for (int k = 0; k < _n; k++)
            {
                int r = spatial[k], b = k / BlockSize;
                (_mx1[k], _my1[k], _mx2[k], _my2[k], _marea[k], _mrank[k]) = (_x1[r], _y1[r], _x2[r], _y2[r], _area[r], r);
                _blocks.Add(b, _x1[r], _y1[r], _x2[r], _y2[r], r);
                _supers.Add(b / SuperSize, _x1[r], _y1[r], _x2[r], _y2[r], r);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool[] Run()
        {
            var suppressed = new bool[_n];
            int vec = Vector256<T>.Count;
            int superCount = _supers.MaxRank.Length;
            for (int r = 0; r < _n; r++)
            {
                if (suppressed[r])
                    continue;
                // the window a suppressed box must reach into, rounded outwards
                double x1 = double.CreateChecked(_x1[r]), y1 = double.CreateChecked(_y1[r]);
                double x2 = double.CreateChecked(_x2[r]), y2 = double.CreateChecked(_y2[r]);
                double dx = _shrink * (x2 - x1), dy = _shrink * (y2 - y1);
                var qx1 = Vector256.Create(Down(x1 + dx));
                var qy1 = Vector256.Create(Down(y1 + dy));
                var qx2 = Vector256.Create(Up(x2 - dx));
                var qy2 = Vector256.Create(Up(y2 - dy));
                var box = new QueryBox<T>(_x1[r], _y1[r], _x2[r], _y2[r], _area[r], _threshold);
                for (int s0 = 0; s0 < superCount; s0 += vec)
                {
                    uint supers = _supers.Meeting(s0, qx1, qy1, qx2, qy2);
                    while (supers != 0)
                    {
                        int sb = s0 + BitOperations.TrailingZeroCount(supers);
                        supers &= supers - 1;
                        if (_supers.MaxRank[sb] <= r)
                            continue;
                        for (int b0 = sb * SuperSize; b0 < (sb + 1) * SuperSize; b0 += vec)
                        {
                            uint blocks = _blocks.Meeting(b0, qx1, qy1, qx2, qy2);
                            while (blocks != 0)
                            {
                                int b = b0 + BitOperations.TrailingZeroCount(blocks);
                                blocks &= blocks - 1;
                                if (_blocks.MaxRank[b] > r)
                                    for (int k = b * BlockSize; k < (b + 1) * BlockSize; k += vec)
                                        SuppressLater(box.Suppressing(_mx1, _my1, _mx2, _my2, _marea, k), k, r, suppressed);
                            }
                        }
                    }
                }
            }
            return suppressed;
        }

        static T Down(double v)
        {
            T t = T.CreateSaturating(v);
            return double.CreateChecked(t) > v ? T.BitDecrement(t) : t;
        }

        static T Up(double v)
        {
            T t = T.CreateSaturating(v);
            return double.CreateChecked(t) < v ? T.BitIncrement(t) : t;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void SuppressLater(uint bits, int at, int r, bool[] suppressed)
        {
            while (bits != 0)
            {
                int rank = _mrank[at + BitOperations.TrailingZeroCount(bits)];
                bits &= bits - 1;
                if (rank > r)
                    suppressed[rank] = true;
            }
        }

        /// <summary>
        /// Ranks grouped by size class (powers of two of the longer side, from the largest boxes down) and,
        /// within one, by grid cell of the centre in Z-order (a counting sort); about 8 boxes per cell.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        int[] SpatialOrder()
        {
            const int SizeClasses = 8;
            T minX = T.PositiveInfinity, minY = T.PositiveInfinity, maxX = T.NegativeInfinity, maxY = T.NegativeInfinity, maxSide = T.Zero;
            T half = T.CreateChecked(0.5);
            for (int r = 0; r < _n; r++)
            {
                T cx = _x1[r] * half + _x2[r] * half, cy = _y1[r] * half + _y2[r] * half;
                (minX, maxX, minY, maxY) = (T.Min(minX, cx), T.Max(maxX, cx), T.Min(minY, cy), T.Max(maxY, cy));
                maxSide = T.Max(maxSide, T.Max(_x2[r] - _x1[r], _y2[r] - _y1[r]));
            }
            // about 32 boxes per cell of the grid (a small count array: no large-object-heap allocation)
            int bits = 1;
            while (bits < 8 && (1 << (2 * bits)) < _n / 32)
                bits++;
            int cells = 1 << bits;
            double x0 = double.CreateChecked(minX), y0 = double.CreateChecked(minY);
            double sx = maxX > minX ? cells / (double.CreateChecked(maxX) - x0) : 0;
            double sy = maxY > minY ? cells / (double.CreateChecked(maxY) - y0) : 0;
            double largest = double.CreateChecked(maxSide);
            var bucket = new int[_n];
            var start = new int[SizeClasses * cells * cells + 1];
            for (int r = 0; r < _n; r++)
            {
                double cx = double.CreateChecked(_x1[r] * half + _x2[r] * half), cy = double.CreateChecked(_y1[r] * half + _y2[r] * half);
                double side = double.CreateChecked(T.Max(_x2[r] - _x1[r], _y2[r] - _y1[r]));
                uint qx = (uint)Math.Clamp((cx - x0) * sx, 0, cells - 1);
                uint qy = (uint)Math.Clamp((cy - y0) * sy, 0, cells - 1);
                // size class: how many halvings below the largest box (0 = the largest)
                int size = side > 0 ? Math.Clamp(Math.ILogB(largest / side), 0, SizeClasses - 1) : SizeClasses - 1;
                bucket[r] = size * cells * cells + (int)(Spread(qx) | Spread(qy) << 1);
                start[bucket[r] + 1]++;
            }
            for (int c = 0; c + 1 < start.Length; c++)
                start[c + 1] += start[c];
            var spatial = new int[_n];
            for (int r = 0; r < _n; r++)
                spatial[start[bucket[r]]++] = r;
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
            var keys = new uint[n];
            for (int i = 0; i < n; i++)
                keys[i] = DescendingKey(float.CreateTruncating(scores[i]));
            RadixSort(keys, order);
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

    /// <summary>
    /// <paramref name="order"/> := indices 0..n-1 stably sorted by ascending <paramref name="keys"/>: least
    /// significant byte first, passes over a byte that all keys share skipped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RadixSort(uint[] keys, int[] order)
    {
        int n = keys.Length;
        for (int i = 0; i < n; i++)
            order[i] = i;
        if (n == 0)
            return;
        var buffer = new int[n];
        Span<int> counts = stackalloc int[256];
        for (int shift = 0; shift < 32; shift += 8)
        {
            counts.Clear();
            foreach (var key in keys)
                counts[(int)(key >> shift) & 0xFF]++;
            if (counts[(int)(keys[0] >> shift) & 0xFF] == n)
                continue;
            int sum = 0;
            for (int d = 0; d < 256; d++)
                (counts[d], sum) = (sum, sum + counts[d]);
            foreach (var i in order)
                buffer[counts[(int)(keys[i] >> shift) & 0xFF]++] = i;
            buffer.CopyTo(order, 0);
        }
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
