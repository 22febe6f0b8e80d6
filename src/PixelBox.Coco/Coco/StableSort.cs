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
        // Tie-break by current position: sort (key, position) and restore items afterwards.
        SortPairs(keys, items);
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
