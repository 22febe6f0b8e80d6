using System.Globalization;
using PixelBox.Fuzz;

// The fuzz program: long campaigns, replays of findings, seed generation, SharpFuzz instrumentation.
// README ("Fuzzing") shows the commands; `dotnet test` runs the bounded campaign of every target.
return Cli.Run(args);

static class Cli
{
    const string Usage = """
        usage: PixelBox.Fuzz list
               PixelBox.Fuzz run TARGET|all [--inputs N] [--minutes M] [--seed K] [--timeout SECONDS] [--coverage] [--findings DIR]
               PixelBox.Fuzz replay TARGET FILE...
               PixelBox.Fuzz seeds checkpoint
               PixelBox.Fuzz instrument DIR
        """;

    public static int Run(string[] args)
    {
        try
        {
            return args switch
            {
                ["list"] => List(),
                ["run", var target, .. var rest] => Campaign(target, rest),
                ["replay", var target, .. var files] when files.Length > 0 => Replay(target, files),
                ["seeds", "checkpoint"] => Seeds(),
                ["instrument", var directory] => Instrument(directory),
                _ => Fail(Usage),
            };
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
    }

    static int List()
    {
        foreach (var target in FuzzTargets.All)
            Console.WriteLine($"{target.Name,-12} {target.Checks}");
        return 0;
    }

    static int Campaign(string name, string[] rest)
    {
        var options = new FuzzOptions { Inputs = long.MaxValue, StopAtFirstFinding = false, Log = Console.WriteLine, FindingsDirectory = "fuzz-findings" };
        for (int i = 0; i + 1 < rest.Length || i < rest.Length && rest[i] == "--coverage"; i++)
        {
            switch (rest[i])
            {
                case "--inputs": options = options with { Inputs = long.Parse(rest[++i], CultureInfo.InvariantCulture) }; break;
                case "--minutes": options = options with { Duration = TimeSpan.FromMinutes(double.Parse(rest[++i], CultureInfo.InvariantCulture)) }; break;
                case "--seed": options = options with { Seed = int.Parse(rest[++i], CultureInfo.InvariantCulture) }; break;
                case "--timeout": options = options with { PerInputTimeout = TimeSpan.FromSeconds(double.Parse(rest[++i], CultureInfo.InvariantCulture)) }; break;
                case "--findings": options = options with { FindingsDirectory = rest[++i] }; break;
                case "--coverage": options = options with { Coverage = true }; break;
                default: throw new ArgumentException($"unknown option {rest[i]}\n{Usage}");
            }
        }
        if (options.Inputs == long.MaxValue && options.Duration is null)
            options = options with { Duration = TimeSpan.FromMinutes(10) };
        var targets = name == "all" ? FuzzTargets.All : [FuzzTargets.Get(name)];
        int findings = 0;
        foreach (var target in targets)
        {
            var report = FuzzEngine.Run(target, options);
            Console.WriteLine(report);
            findings += report.Findings.Count;
        }
        return findings == 0 ? 0 : 1;
    }

    static int Replay(string name, string[] files)
    {
        var target = FuzzTargets.Get(name);
        int failed = 0;
        foreach (var file in files)
        {
            var finding = FuzzEngine.Replay(target, File.ReadAllBytes(file), TimeSpan.FromSeconds(60));
            Console.WriteLine(finding is null ? $"{file}: ok" : $"{file}: {finding.Kind}: {finding.Message}");
            failed += finding is null ? 0 : 1;
        }
        return failed == 0 ? 0 : 1;
    }

    static int Seeds()
    {
        var dir = Path.Combine(FuzzEngine.CorpusRoot, "checkpoint");
        Directory.CreateDirectory(dir);
        PixelBox.Fuzz.Targets.CheckpointTarget.WriteSeeds(dir);
        Console.WriteLine($"wrote the checkpoint seeds to {dir}");
        return 0;
    }

    /// <summary>
    /// Copies this program's folder to <paramref name="directory"/> and rewrites the copies of PixelBox.Coco.dll
    /// and PixelBox.dll there with SharpFuzz's branch counters, for <c>run --coverage</c> from that folder (run
    /// inside the repository, so the seeds are found). The build output itself stays plain.
    /// </summary>
    static int Instrument(string directory)
    {
        var source = AppContext.BaseDirectory;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(directory, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
        foreach (var name in new[] { "PixelBox.Coco.dll", "PixelBox.dll" })
        {
            var path = Path.Combine(directory, name);
            int types = SharpFuzz.Fuzzer.Instrument(path, _ => true, SharpFuzz.Options.Value).Count();
            Console.WriteLine($"instrumented {path} ({types} types)");
        }
        return 0;
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine(message);
        return 2;
    }
}
