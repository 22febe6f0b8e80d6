using System.Runtime;

namespace PixelBox.Interop;

/// <summary>
/// Keeps the garbage collector from running while a run's torch work runs (the training steps). TorchSharp
/// 0.107 hands implicitly converted Scalars to libtorch by raw handle without keeping the managed object
/// alive: <c>a + b</c> (alpha 1), <c>t * 0.5</c>, BatchNorm's batch counter, every coefficient of the
/// optimizers' steps. When another thread's allocation (a data loader's) triggers a collection while
/// libtorch runs such a call, the Scalar can be finalized, and so freed, while libtorch still reads it:
/// training dies hundreds of steps in with "For integral input tensors, argument alpha must not be a
/// floating point number" or "Expected false to be true" from Scalar::toFloat (seen in detection training).
/// Inside a no-GC region nothing is collected, so nothing is finalized. Collections then happen only in
/// <see cref="Ensure"/> and <see cref="End"/>, called between steps on the thread that runs them, when no
/// torch call of that thread is in flight. A collection triggered by the thread running the steps is safe
/// (it is in managed code then), so work with no other allocating thread needs no region.
/// </summary>
/// <remarks>
/// A region is process-wide: while another is active (another run in the same process) this one does
/// nothing. When more than the budget is allocated the runtime collects and leaves the region early; the
/// next <see cref="Ensure"/> starts a new one.
/// </remarks>
public sealed class NoGcRegion : IDisposable
{
    /// <summary>Allocations (all threads) a region allows; a training step of the detection demo allocates about 2 MB.</summary>
    const long Budget = 64L << 20;

    /// <summary>A region that has seen this much allocation is renewed at the next <see cref="Ensure"/>.</summary>
    const long Renewal = 40L << 20;

    bool active;
    long allocatedAtStart;

    /// <summary>Makes sure a region with room for another step is active: starts one (collecting first, as the
    /// runtime does) when none is, or when most of the current one's budget is used.</summary>
    public void Ensure()
    {
        if (active && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion && GC.GetTotalAllocatedBytes() - allocatedAtStart < Renewal)
            return;
        End();
        try
        {
            active = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
        }
        catch (InvalidOperationException)
        {
            active = false; // another thread started one in the meantime
        }
        allocatedAtStart = GC.GetTotalAllocatedBytes();
    }

    /// <summary>Ends this object's region, if it is still active.</summary>
    public void End()
    {
        if (active && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            try
            {
                GC.EndNoGCRegion();
            }
            catch (InvalidOperationException)
            {
                // the budget ran out and the runtime left the region on its own
            }
        }
        active = false;
    }

    public void Dispose() => End();
}
