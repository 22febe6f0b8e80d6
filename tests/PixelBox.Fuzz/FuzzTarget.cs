namespace PixelBox.Fuzz;

/// <summary>
/// A parser or operation under fuzzing and the properties its inputs must keep. <see cref="Run"/> feeds one
/// input to the code under test and throws <see cref="PropertyViolation"/> when a property fails (two readers
/// disagree, a result does not round-trip); an exception that is not <see cref="IsExpected"/> is a crash.
/// The engine adds the general properties: no hang (a per-input time limit) and managed memory allocated
/// per input within <see cref="MemoryBudget"/>.
/// </summary>
public sealed class FuzzTarget
{
    /// <summary>Name on the command line and folder of its seed corpus (tests/fuzz-corpus/NAME).</summary>
    public required string Name { get; init; }

    /// <summary>What the target feeds and checks, one line (shown by the fuzz program's list).</summary>
    public required string Checks { get; init; }

    public required Action<byte[]> Run { get; init; }

    /// <summary>Errors the code may give for bad input: by default only our one-line <see cref="InputException"/>.</summary>
    public Func<Exception, bool> IsExpected { get; init; } = e => e is InputException;

    /// <summary>Managed bytes one input may allocate on the calling thread, given its length.</summary>
    public Func<int, long> MemoryBudget { get; init; } = length => (64L << 20) + 1024L * length;

    /// <summary>A mutation that knows the format (e.g. fixes checksums after a change), used for half the mutations; null for none.</summary>
    public Func<byte[], Random, byte[]>? Mutate { get; init; }

    /// <summary>Tokens the byte mutations insert (keywords, delimiters, magic numbers of the format).</summary>
    public IReadOnlyList<byte[]> Dictionary { get; init; } = [];

    /// <summary>Largest input the engine generates.</summary>
    public int MaxInputBytes { get; init; } = 64 << 10;
}

/// <summary>A property of a target that an input breaks (not a crash: the code ran, but gave a wrong answer).</summary>
public sealed class PropertyViolation(string message) : Exception(message);
