namespace PixelBox.Onnx;

/// <summary>
/// A tensor of an ONNX graph being written: its name in the graph and its shape as far as the exporter
/// knows it (<see cref="Unknown"/> for a dimension decided at run time, such as the batch or, in a
/// dynamic-size export, the image sides). Values are immutable handles; graph ops make new ones.
/// </summary>
public sealed record OnnxValue(string Name, long[] Shape)
{
    /// <summary>A dimension known only when the graph runs.</summary>
    public const long Unknown = -1;

    public int Rank => Shape.Length;

    /// <summary>Size of dimension <paramref name="axis"/> (negative axes count from the end), or <see cref="Unknown"/>.</summary>
    public long Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    public bool IsKnown(int axis) => Dim(axis) != Unknown;

    public override string ToString() => $"{Name} [{string.Join(", ", Shape.Select(d => d == Unknown ? "?" : d.ToString()))}]";
}
