namespace PixelBox.Training;

/// <summary>How the learning rate decays over a run.</summary>
public enum ScheduleKind
{
    /// <summary>Same rate throughout.</summary>
    Constant,

    /// <summary>min + (base - min) * (1 - t/T)^power, the DeepLab/mmseg "poly" policy.</summary>
    Poly,

    /// <summary>min + (base - min) * (1 + cos(pi t/T)) / 2 (SGDR without restarts).</summary>
    Cosine,
}

/// <summary>
/// The learning rate as a pure function of the iteration, so a resumed run gets exactly the rates the
/// uninterrupted run would have had, with no scheduler state to save.
/// </summary>
/// <param name="Kind">Decay policy.</param>
/// <param name="BaseRate">Rate at iteration 0 (after warmup).</param>
/// <param name="TotalIterations">Length of the run T; iteration t runs from 0 to T - 1.</param>
/// <param name="PolyPower">Exponent of the poly policy.</param>
/// <param name="MinRate">Floor the decay ends at.</param>
/// <param name="WarmupIterations">The first W iterations scale the rate linearly by (t + 1) / W.</param>
public sealed record LearningRateSchedule(
    ScheduleKind Kind,
    double BaseRate,
    long TotalIterations,
    double PolyPower = 0.9,
    double MinRate = 0,
    long WarmupIterations = 0)
{
    /// <summary>The rate for the optimizer step with 0-based index <paramref name="iteration"/>.</summary>
    public double At(long iteration)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);
        double progress = TotalIterations <= 0 ? 1 : Math.Min(iteration, TotalIterations) / (double)TotalIterations;
        double rate = Kind switch
        {
            ScheduleKind.Constant => BaseRate,
            ScheduleKind.Poly => MinRate + (BaseRate - MinRate) * Math.Pow(1 - progress, PolyPower),
            ScheduleKind.Cosine => MinRate + (BaseRate - MinRate) * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, null),
        };
        if (iteration < WarmupIterations)
            rate *= (iteration + 1) / (double)WarmupIterations;
        return rate;
    }
}
