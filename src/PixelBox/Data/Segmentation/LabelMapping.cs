using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>
/// How the values stored in a format's mask files become training labels: a table over the 256 byte values,
/// each either mapped to a label (0..classes-1, or 255 = ignore) or unknown (an error naming the pixel).
/// </summary>
public sealed class LabelMapping
{
    readonly byte[] labels = new byte[256];
    readonly bool[] known = new bool[256];
    readonly string unknownProblem;
    readonly int knownBelow; // every value < knownBelow and 255 known, the rest unknown (fast path); -1 otherwise
    readonly bool identity;

    LabelMapping(string unknownProblem, int knownBelow, bool identity)
    {
        this.unknownProblem = unknownProblem;
        this.knownBelow = knownBelow;
        this.identity = identity;
    }

    /// <summary>Every value is its own label (a mask folder without classes.txt).</summary>
    public static LabelMapping Identity { get; } = Classes(255, "");

    /// <summary>Labels 0..<paramref name="count"/>-1 and 255 (ignore) as stored; any other value is unknown, described by <paramref name="unknownProblem"/>.</summary>
    public static LabelMapping Classes(int count, string unknownProblem)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 255);
        var mapping = new LabelMapping(unknownProblem, count, identity: true);
        for (int v = 0; v < 256; v++)
            if (v < count || v == MaskFolderDataset.IgnoreLabel)
                (mapping.labels[v], mapping.known[v]) = ((byte)v, true);
        return mapping;
    }

    /// <summary>The stored values of <paramref name="table"/> mapped to their labels; any other value is unknown.</summary>
    public static LabelMapping Table(IEnumerable<(byte Stored, byte Label)> table, string unknownProblem)
    {
        var mapping = new LabelMapping(unknownProblem, -1, identity: false);
        foreach (var (stored, label) in table)
            (mapping.labels[stored], mapping.known[stored]) = (label, true);
        return mapping;
    }

    /// <summary>The label of a stored value, or null when the value is unknown.</summary>
    public byte? LabelOf(byte stored) => known[stored] ? labels[stored] : null;

    /// <summary>Index of the first pixel whose stored value is unknown, or -1.</summary>
    public int FirstUnknown(ReadOnlySpan<byte> stored)
    {
        if (knownBelow >= 0)
            return knownBelow >= MaskFolderDataset.IgnoreLabel ? -1 : stored.IndexOfAnyInRange((byte)knownBelow, (byte)(MaskFolderDataset.IgnoreLabel - 1));
        for (int i = 0; i < stored.Length; i++)
            if (!known[stored[i]]) return i;
        return -1;
    }

    /// <summary>The one-line problem of pixel <paramref name="index"/> (an unknown value) of <paramref name="mask"/>.</summary>
    public string Problem(IndexMask mask, int index) =>
        $"label {mask.Pixels[index]} at pixel ({index % mask.Width}, {index / mask.Width}) {unknownProblem}";

    /// <summary>Replaces stored values by their labels, in place (every value must be known).</summary>
    public void Apply(Span<byte> pixels)
    {
        if (identity) return;
        ReadOnlySpan<byte> table = labels;
        for (int i = 0; i < pixels.Length; i++)
            pixels[i] = table[pixels[i]];
    }
}
