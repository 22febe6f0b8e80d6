using System.Diagnostics;
using System.Globalization;

namespace PixelBox.Cli;

/// <summary>
/// Phase timings on stderr when PIXELBOX_TIMINGS=1 (for profiling a command's end-to-end time; the
/// first mark covers everything since the process started: runtime start-up, JIT, option parsing).
/// </summary>
sealed class PhaseTimings
{
    TimeSpan _last;

    PhaseTimings() => _last = TimeSpan.Zero;

    public static PhaseTimings? FromEnvironment() =>
        Environment.GetEnvironmentVariable("PIXELBOX_TIMINGS") == "1" ? new PhaseTimings() : null;

    static TimeSpan SinceStart() => DateTime.Now - Process.GetCurrentProcess().StartTime;

    public void Mark(string phase)
    {
        var now = SinceStart();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"timing: {phase}: {(now - _last).TotalMilliseconds:F0} ms (wall since start {now.TotalMilliseconds:F0} ms, cpu {cpu.TotalMilliseconds:F0} ms, GC pauses {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms in {GC.CollectionCount(0)} collections, {GC.CollectionCount(2)} of gen2, JIT {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:F0} ms for {System.Runtime.JitInfo.GetCompiledMethodCount()} methods)"));
        _last = now;
    }
}
