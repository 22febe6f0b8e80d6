using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;

namespace PixelBox.Fuzz;

/// <summary>How a campaign runs: its budget, seed, limits and where findings go.</summary>
public sealed record FuzzOptions
{
    /// <summary>Inputs to try (mutants; the seeds are run first and not counted).</summary>
    public long Inputs { get; init; } = 1000;

    /// <summary>Stop after this long even if <see cref="Inputs"/> are not done (long runs); null: count only.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Seeds the mutations: a campaign without coverage feedback tries the same inputs every run.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>An input that runs longer is a hang.</summary>
    public TimeSpan PerInputTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Keep inputs that reach new edges in the corpus (needs assemblies instrumented by SharpFuzz: the
    /// fuzz program's <c>instrument</c> command); without it the mutants are all drawn from the seeds.
    /// </summary>
    public bool Coverage { get; init; }

    /// <summary>Where failing inputs (and, with coverage, new corpus entries) are written; null: nowhere.</summary>
    public string? FindingsDirectory { get; init; }

    /// <summary>Stop at the first finding (CI), or go on collecting them (long runs).</summary>
    public bool StopAtFirstFinding { get; init; } = true;

    public Action<string>? Log { get; init; }
}

/// <summary>One input that broke a property.</summary>
public sealed record FuzzFinding(string Kind, string Message, byte[] Input, string? SavedAs);

/// <summary>What a campaign did.</summary>
public sealed record FuzzReport(string Target, long Inputs, long Expected, int CorpusSize, TimeSpan Elapsed, IReadOnlyList<FuzzFinding> Findings)
{
    public int Count(string kind) => Findings.Count(f => f.Kind == kind);

    public override string ToString() =>
        $"{Target}: {Inputs} inputs in {Elapsed.TotalSeconds:F0} s ({Expected} refused with an expected error), corpus {CorpusSize}, " +
        $"crashes {Count("crash")}, hangs {Count("hang")}, memory {Count("memory")}, disagreements {Count("property")}";
}

/// <summary>
/// An in-process, deterministic fuzzing loop: seeds from tests/fuzz-corpus/TARGET, stacked byte mutations
/// (and the target's own), each input run on a worker thread against the target's properties, with a
/// per-input time limit and a budget of managed memory allocated by that thread. With SharpFuzz
/// instrumentation (<see cref="FuzzOptions.Coverage"/>) it keeps inputs that reach new branch pairs, as AFL does.
/// </summary>
public static class FuzzEngine
{
    /// <summary>tests/fuzz-corpus, found above the running assembly (the repository's copy).</summary>
    public static string CorpusRoot => FindCorpusRoot();

    public static IReadOnlyList<byte[]> LoadSeeds(string target)
    {
        var dir = Path.Combine(CorpusRoot, target);
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"no seed corpus for '{target}' ({dir})");
        return Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
    }

    public static FuzzReport Run(FuzzTarget target, FuzzOptions options)
    {
        var seeds = LoadSeeds(target.Name);
        var corpus = new List<byte[]>(seeds);
        var findings = new List<FuzzFinding>();
        var random = new Random(options.Seed);
        var clock = Stopwatch.StartNew();
        // the map is set up even without feedback: instrumented assemblies need somewhere to count (it is not
        // freed after a hang: the stuck worker still runs instrumented code)
        var edges = new EdgeCoverage();
        var coverage = options.Coverage ? edges : null;
        using var current = options.FindingsDirectory is null ? null : new CurrentInput(Path.Combine(options.FindingsDirectory, target.Name, "current-input"));
        var worker = new Worker(target, edges);
        long inputs = 0, expected = 0;
        try
        {
            // the seeds first (they must pass), then mutants
            int seedIndex = 0;
            while (true)
            {
                bool isSeed = seedIndex < seeds.Count;
                if (!isSeed && (inputs >= options.Inputs || options.Duration is { } d && clock.Elapsed >= d))
                    break;
                var input = isSeed ? seeds[seedIndex++] : NextInput(target, corpus, random);
                current?.Write(input);
                // the first input also loads and compiles what the target uses (libtorch, SkiaSharp): minutes under load
                var limit = seedIndex == 1 && isSeed ? Max(options.PerInputTimeout, StartupTimeout) : options.PerInputTimeout;
                var outcome = worker.Run(input, limit);
                if (!isSeed)
                    inputs++;
                if (outcome.Error is not null && outcome.Finding is null)
                    expected++;
                if (outcome.Finding is { } kind)
                {
                    var saved = Save(options.FindingsDirectory, target.Name, kind, input);
                    findings.Add(new FuzzFinding(kind, outcome.Message!, input, saved));
                    options.Log?.Invoke($"{target.Name}: {kind}: {outcome.Message}{(saved is null ? "" : $" (input saved as {saved})")}");
                    if (kind == "hang")
                        break; // the worker thread is stuck in the input: nothing more can run
                    if (options.StopAtFirstFinding)
                        break;
                }
                else if (coverage is not null && coverage.HasNewEdges())
                {
                    corpus.Add(input);
                    Save(options.FindingsDirectory, target.Name, "corpus", input);
                }
                if (inputs > 0 && inputs % 10000 == 0 && !isSeed)
                    options.Log?.Invoke($"{target.Name}: {inputs} inputs, {clock.Elapsed.TotalSeconds:F0} s, corpus {corpus.Count}{(coverage is null ? "" : $", edges {coverage.Edges}")}");
            }
        }
        finally
        {
            if (worker.Dispose())
                edges.Dispose();
            Targets.TempFiles.DeleteAll();
        }
        return new FuzzReport(target.Name, inputs, expected, corpus.Count, clock.Elapsed, findings);
    }

    static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(5);

    static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>Runs one input (a saved finding) the way the campaign does; null when every property holds.</summary>
    public static FuzzFinding? Replay(FuzzTarget target, byte[] input, TimeSpan timeout)
    {
        var edges = new EdgeCoverage();
        var worker = new Worker(target, edges);
        try
        {
            var outcome = worker.Run(input, timeout);
            return outcome.Finding is { } kind ? new FuzzFinding(kind, outcome.Message!, input, null) : null;
        }
        finally
        {
            if (worker.Dispose())
                edges.Dispose();
        }
    }

    static byte[] NextInput(FuzzTarget target, List<byte[]> corpus, Random random)
    {
        var parent = corpus[random.Next(corpus.Count)];
        var child = target.Mutate is not null && random.Next(2) == 0
            ? target.Mutate(parent, random)
            : Mutator.Mutate(parent, random, corpus, target.Dictionary, target.MaxInputBytes);
        return child.Length <= target.MaxInputBytes ? child : child[..target.MaxInputBytes];
    }

    static string? Save(string? directory, string target, string kind, byte[] input)
    {
        if (directory is null)
            return null;
        var dir = Path.Combine(directory, target, kind);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, Convert.ToHexStringLower(SHA256.HashData(input))[..16]);
        File.WriteAllBytes(path, input);
        return path;
    }

    /// <summary>The repository's tests/fuzz-corpus, above this assembly or (for an instrumented copy elsewhere) above the current folder.</summary>
    static string FindCorpusRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fuzz-corpus");
                if (Directory.Exists(candidate))
                    return candidate;
            }
        throw new DirectoryNotFoundException($"tests/fuzz-corpus not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }

    /// <summary>What one run of an input gave: an error (expected or not) and, if a property broke, its kind.</summary>
    readonly record struct Outcome(Exception? Error, string? Finding, string? Message);

    /// <summary>
    /// A thread that runs inputs one at a time, measuring the managed bytes it allocates per input. A caller
    /// that waits longer than the time limit leaves the thread to its input (a hang) and gets a finding.
    /// </summary>
    sealed class Worker
    {
        readonly FuzzTarget target;
        readonly EdgeCoverage? coverage;
        readonly Thread thread;
        readonly SemaphoreSlim start = new(0), done = new(0);
        byte[] input = [];
        Exception? error;
        long allocated;
        bool stopping, stuck;

        public Worker(FuzzTarget target, EdgeCoverage? coverage)
        {
            this.target = target;
            this.coverage = coverage;
            // a 1 MB stack, smaller than the main thread's 8 MB: deep recursion shows up early
            thread = new Thread(Loop, 1 << 20) { IsBackground = true, Name = $"fuzz {target.Name}" };
            thread.Start();
        }

        public Outcome Run(byte[] data, TimeSpan timeout)
        {
            input = data;
            start.Release();
            if (!done.Wait(timeout))
            {
                stuck = true;
                return new Outcome(null, "hang", $"no result after {timeout.TotalSeconds:F0} s (input of {data.Length} bytes)");
            }
            var budget = target.MemoryBudget(data.Length);
            if (allocated > budget)
                return new Outcome(error, "memory", $"allocated {allocated >> 20} MB for an input of {data.Length} bytes (budget {budget >> 20} MB)");
            return error switch
            {
                null => new Outcome(null, null, null),
                PropertyViolation p => new Outcome(p, "property", p.Message),
                _ when target.IsExpected(error) => ExpectedError(error),
                _ => new Outcome(error, "crash", $"{error.GetType().Name}: {error.Message.Split('\n')[0]}{Environment.NewLine}{error.StackTrace}"),
            };
        }

        /// <summary>An expected error must still be one line.</summary>
        static Outcome ExpectedError(Exception e) =>
            e.Message.Contains('\n') || e.Message.Length == 0
                ? new Outcome(e, "crash", $"error message is not one line: '{e.Message}'")
                : new Outcome(e, null, null);

        void Loop()
        {
            while (true)
            {
                start.Wait();
                if (stopping)
                    return;
                error = null;
                coverage?.Reset();
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    target.Run(input);
                }
                catch (Exception e)
                {
                    error = e;
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                done.Release();
            }
        }

        /// <summary>Ends the thread; false when it is stuck in an input (left running, in the background).</summary>
        public bool Dispose()
        {
            if (stuck)
                return false;
            stopping = true;
            start.Release();
            thread.Join();
            return true;
        }
    }

    /// <summary>
    /// The last input started, in a memory-mapped file: if the process dies on an input (a stack overflow or
    /// a native crash ends a .NET process at once), the input is still on disk.
    /// </summary>
    sealed class CurrentInput : IDisposable
    {
        const int Capacity = 4 << 20;
        readonly MemoryMappedFile map;
        readonly MemoryMappedViewAccessor view;

        public CurrentInput(string path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            map = MemoryMappedFile.CreateFromFile(path, FileMode.Create, null, Capacity + 4);
            view = map.CreateViewAccessor();
        }

        public void Write(byte[] input)
        {
            int length = Math.Min(input.Length, Capacity);
            view.Write(0, length);
            view.WriteArray(4, input, 0, length);
        }

        public void Dispose()
        {
            view.Dispose();
            map.Dispose();
        }
    }
}
