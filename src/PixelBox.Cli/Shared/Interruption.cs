using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;

namespace PixelBox.Cli.Shared;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM while a command runs. System.CommandLine's own handling gives an action two
/// seconds and then returns 130 while the action still runs, so the process exits under it, possibly in the
/// middle of a checkpoint write; we handle the signals ourselves instead:
/// <list type="bullet">
/// <item>a command that can stop (an asynchronous action: train seg, demo, predict seg) gets its cancellation
/// token cancelled and all the time it needs to finish the step it is in and save (train keeps its last complete
/// checkpoint), then exits 130;</item>
/// <item>a second signal, or the first one for a command that cannot stop, ends the process with 130 at once,
/// after any file being written atomically is complete (never a half-written output or a stray temp file).</item>
/// </list>
/// </summary>
sealed class Interruption : IDisposable
{
    readonly CancellationTokenSource cancellation;
    readonly bool cancellable;
    readonly List<PosixSignalRegistration> registrations = [];
    int signals;

    Interruption(ParseResult parse, CancellationTokenSource cancellation)
    {
        this.cancellation = cancellation;
        cancellable = parse.Action is AsynchronousCommandLineAction;
        if (OperatingSystem.IsAndroid() || OperatingSystem.IsIOS() || OperatingSystem.IsTvOS() || OperatingSystem.IsBrowser())
            return;
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal));
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
    }

    /// <summary>Handles SIGINT/SIGTERM until disposed; the token of <paramref name="cancellation"/> goes to the command.</summary>
    public static Interruption Handle(ParseResult parse, CancellationTokenSource cancellation) => new(parse, cancellation);

    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // the process decides when to end, not the runtime's default handler
        if (Interlocked.Increment(ref signals) == 1 && cancellable)
        {
            Console.Error.WriteLine("interrupting: finishing the current step (press Ctrl+C again to stop at once)");
            cancellation.Cancel();
            return;
        }
        AtomicFile.FinishWritesBeforeExit();
        Console.Error.WriteLine("interrupted");
        Environment.Exit(ErrorReporting.Interrupted);
    }

    public void Dispose()
    {
        foreach (var registration in registrations)
            registration.Dispose();
    }
}
