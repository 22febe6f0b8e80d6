using System.Diagnostics;

namespace PixelBox;

/// <summary>
/// Fault injection for crash-safety tests: with PIXELBOX_KILL_AT=POINT:N in the environment the process
/// kills itself with SIGKILL (no cleanup, no finally blocks) the Nth time it passes the named point, so a
/// test can cut a real process at an exact step, in validation or halfway through an atomic write.
/// Unset (always, in normal use) a point costs one comparison.
/// </summary>
public static class KillSwitch
{
    public const string Variable = "PIXELBOX_KILL_AT";

    /// <summary>After an optimizer step.</summary>
    public const string Step = "step";

    /// <summary>At the start of a validation pass.</summary>
    public const string Validation = "validation";

    /// <summary>Halfway through an atomic write: the temp file holds the data, not yet flushed or renamed.</summary>
    public const string AtomicWrite = "atomic-write";

    static readonly (string Point, int Count)? Target = Parse(Environment.GetEnvironmentVariable(Variable));
    static int passed;

    public static void Point(string name)
    {
        if (Target is not { } target || target.Point != name)
            return;
        if (Interlocked.Increment(ref passed) != target.Count)
            return;
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    static (string, int)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        var parts = value.Split(':');
        return parts.Length == 2 && int.TryParse(parts[1], out int count) && count > 0 ? (parts[0], count) : null;
    }
}
