namespace PixelBox.Coco;

/// <summary>Stable sorts by score, as np.argsort(-scores, kind='mergesort').</summary>
static class StableSort
{
    /// <summary>
    /// Reorders <paramref name="items"/> (indices into <paramref name="score"/>) by score, highest first;
    /// equal scores keep their current order. Scores must not be NaN.
    /// </summary>
    public static void ByScoreDescending(double[] score, Span<int> items, ulong[] keyBuffer)
    {
        int n = items.Length;
        var keys = keyBuffer.AsSpan(0, n);
        for (int i = 0; i < n; i++)
            keys[i] = ~OrderedBits(score[items[i]]);
        if (n >= RadixMinCount)
            RadixSort(keys, items);
        else
            SortPairs(keys, items); // tie-break by current position: sort (key, position) and restore items
    }

    // Below this, the comparison sort beats the radix sort's passes.
    const int RadixMinCount = 256;

    /// <summary>
    /// LSD radix sort of (key, item) pairs by key, a byte a pass. Each pass is a stable counting sort,
    /// so equal keys keep their order; a pass whose byte is the same for every key (scores in [0, 1]
    /// share their sign and most exponent bits) is skipped.
    /// </summary>
    static void RadixSort(Span<ulong> keys, Span<int> items)
    {
        int n = keys.Length;
        var keysTemp = new ulong[n];
        var itemsTemp = new int[n];
        Span<int> count = stackalloc int[256];
        Span<ulong> fromKeys = keys, toKeys = keysTemp;
        Span<int> fromItems = items, toItems = itemsTemp;
        bool inTemp = false;
        for (int shift = 0; shift < 64; shift += 8)
        {
            count.Clear();
            foreach (var k in fromKeys)
                count[(int)(k >> shift) & 0xFF]++;
            if (count[(int)(fromKeys[0] >> shift) & 0xFF] == n)
                continue;
            int sum = 0;
            for (int b = 0; b < count.Length; b++)
                (count[b], sum) = (sum, sum + count[b]);
            for (int i = 0; i < n; i++)
            {
                int at = count[(int)(fromKeys[i] >> shift) & 0xFF]++;
                toKeys[at] = fromKeys[i];
                toItems[at] = fromItems[i];
            }
            var keysFrom = fromKeys;
            fromKeys = toKeys;
            toKeys = keysFrom;
            var itemsFrom = fromItems;
            fromItems = toItems;
            toItems = itemsFrom;
            inTemp = !inTemp;
        }
        if (inTemp)
        {
            fromKeys.CopyTo(keys);
            fromItems.CopyTo(items);
        }
    }

    /// <summary>Maps a double to an unsigned key with the same order (-0.0 and 0.0 equal).</summary>
    static ulong OrderedBits(double v)
    {
        ulong bits = (ulong)BitConverter.DoubleToInt64Bits(v + 0.0);
        return (bits & 0x8000_0000_0000_0000UL) != 0 ? ~bits : bits | 0x8000_0000_0000_0000UL;
    }

    static void SortPairs(Span<ulong> keys, Span<int> items)
    {
        // Introsort is not stable, so equal keys are put back in their original order after it.
        int n = keys.Length;
        Span<int> position = n <= 256 ? stackalloc int[n] : new int[n];
        for (int i = 0; i < n; i++)
            position[i] = i;
        keys.Sort(position);
        Span<int> original = n <= 256 ? stackalloc int[n] : new int[n];
        items.CopyTo(original);
        int start = 0;
        while (start < n)
        {
            int end = start + 1;
            while (end < n && keys[end] == keys[start])
                end++;
            if (end - start > 1)
                position[start..end].Sort();
            start = end;
        }
        for (int i = 0; i < n; i++)
            items[i] = original[position[i]];
    }
}
