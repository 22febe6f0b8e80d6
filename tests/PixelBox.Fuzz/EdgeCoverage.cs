using System.Runtime.InteropServices;

namespace PixelBox.Fuzz;

/// <summary>
/// AFL's edge coverage as SharpFuzz instruments it: every branch of an instrumented assembly bumps
/// <c>SharedMem[previous ^ current]</c>. The map is ours (64 KB of native memory) instead of AFL's shared
/// memory; an input is new when it sets a branch pair, or a hit-count bucket (1, 2, 3, 4-7, 8-15, 16-31,
/// 32-127, 128+) of one, that no earlier input did.
/// </summary>
public sealed unsafe class EdgeCoverage : IDisposable
{
    const int MapSize = 1 << 16;
    readonly byte* map;
    readonly byte[] seen = new byte[MapSize];

    public EdgeCoverage()
    {
        map = (byte*)NativeMemory.AllocZeroed(MapSize);
        SharpFuzz.Common.Trace.SharedMem = map;
    }

    /// <summary>Branch pairs seen so far.</summary>
    public int Edges { get; private set; }

    public void Reset()
    {
        NativeMemory.Clear(map, MapSize);
        SharpFuzz.Common.Trace.PrevLocation = 0;
    }

    /// <summary>Whether the last input reached a branch pair or hit-count bucket not seen before (and records it).</summary>
    public bool HasNewEdges()
    {
        bool isNew = false;
        for (int i = 0; i < MapSize; i++)
        {
            byte hits = map[i];
            if (hits == 0)
                continue;
            byte bucket = Bucket(hits);
            if ((seen[i] & bucket) == 0)
            {
                if (seen[i] == 0)
                    Edges++;
                seen[i] |= bucket;
                isNew = true;
            }
        }
        return isNew;
    }

    static byte Bucket(byte hits) => hits switch
    {
        1 => 1,
        2 => 2,
        3 => 4,
        < 8 => 8,
        < 16 => 16,
        < 32 => 32,
        < 128 => 64,
        _ => 128,
    };

    public void Dispose()
    {
        SharpFuzz.Common.Trace.SharedMem = null;
        NativeMemory.Free(map);
    }
}
