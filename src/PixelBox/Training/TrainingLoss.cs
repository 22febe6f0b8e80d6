using PixelBox.Interop;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>
/// The loss of one batch: the scalar the optimizer minimises and, for losses made of parts (a detector's
/// box, classification and objectness terms), each part by name, so that logs and curves show them.
/// The total is what is differentiated; parts are only read.
/// </summary>
public sealed class TrainingLoss : IDisposable
{
    TrainingLoss(Tensor total, IReadOnlyList<(string Name, Tensor Value)> parts)
    {
        Total = total;
        Parts = parts;
    }

    public Tensor Total { get; }

    /// <summary>Named parts (empty for a single-term loss).</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Parts { get; }

    /// <summary>A loss of one term.</summary>
    public static TrainingLoss Of(Tensor total) => new(total, []);

    /// <summary>A loss whose total is the sum of its named parts (weights already applied to them).</summary>
    public static TrainingLoss Sum(params (string Name, Tensor Value)[] parts)
    {
        if (parts.Length == 0)
            throw new ArgumentException("a loss needs at least one part", nameof(parts));
        if (parts.Select(p => p.Name).Distinct().Count() != parts.Length)
            throw new ArgumentException("loss parts need distinct names", nameof(parts));
        var total = parts[0].Value;
        for (int i = 1; i < parts.Length; i++)
            total = total + parts[i].Value;
        return new TrainingLoss(total, parts);
    }

    /// <summary>Total and parts as numbers, read from the device in one transfer.</summary>
    public (double Total, double[] Parts) Values()
    {
        using var scope = NewDisposeScope();
        var all = stack([Total.detach().reshape(1), .. Parts.Select(p => p.Value.detach().reshape(1))]).to(ScalarType.Float64).cpu();
        var values = TensorValues.ToArray<double>(all);
        return (values[0], values[1..]);
    }

    public void Dispose()
    {
        Total.Dispose();
        foreach (var (_, value) in Parts)
            value.Dispose();
    }
}
