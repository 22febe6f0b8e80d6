namespace PixelBox.Data;

/// <summary>
/// Derives independent seeds from a tuple such as (seed, epoch, sample) with SplitMix64 mixing, so every
/// image or sample gets its own <see cref="Random"/> and results never depend on thread scheduling.
/// </summary>
internal static class Seeds
{
    public static int Mix(params ReadOnlySpan<int> parts)
    {
        // Start from the arity so (a) and (a, b) never share a stream by construction.
        ulong h = SplitMix((ulong)parts.Length);
        foreach (var p in parts) h = SplitMix(h ^ (uint)p);
        return (int)(h >> 33);
    }

    static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
