namespace PixelBox.Tests.IO;

/// <summary>Outputs that are inputs or each other are refused before any work; write failures of the environment map to one line.</summary>
public sealed class OutputPlanTests : IDisposable
{
    readonly string dir = Directory.CreateTempSubdirectory("pixelbox-outputplan-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    string File(string name, string text = "x")
    {
        var path = Path.Combine(dir, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void An_output_at_an_input_names_both()
    {
        var input = File("in.png");
        var error = Assert.Throws<InputException>(() => new OutputPlan().Input(input, "the input image").Output(input, "the mask of x").Check());
        Assert.Equal($"{input}: the mask of x would overwrite the input image {input}; choose another output", error.Message);
    }

    [Fact]
    public void Paths_are_compared_as_files_not_as_strings()
    {
        var input = File("in.json");
        var spelled = Path.Combine(dir, "sub", "..", "in.json");
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        Assert.Throws<InputException>(() => new OutputPlan().Input(input, "--gt").Output(spelled, "--json").Check());
        if (OperatingSystem.IsWindows())
            return;
        var link = Path.Combine(dir, "link.json");
        System.IO.File.CreateSymbolicLink(link, input);
        Assert.Throws<InputException>(() => new OutputPlan().Input(input, "--gt").Output(link, "--json").Check());
        var hard = Path.Combine(dir, "hard.json");
        System.Diagnostics.Process.Start("ln", [input, hard]).WaitForExit();
        var error = Assert.Throws<InputException>(() => new OutputPlan().Input(input, "--gt").Output(hard, "--json").Check());
        Assert.StartsWith($"{hard}: --json would overwrite --gt {input}", error.Message);
    }

    [Fact]
    public void Two_outputs_at_one_new_file_are_refused()
    {
        var output = Path.Combine(dir, "new", "b_overlay.png");
        var error = Assert.Throws<InputException>(() =>
            new OutputPlan().Output(output, "the overlay of b.png").Output(output, "the mask of b_overlay.png").Check());
        Assert.Equal($"{output}: would be written twice, as the overlay of b.png ({output}) and as the mask of b_overlay.png", error.Message);
    }

    [Fact]
    public void Distinct_files_pass_and_case_counts_on_a_case_sensitive_file_system()
    {
        var input = File("a.png");
        new OutputPlan().Input(input, "in").Output(Path.Combine(dir, "b.png"), "out").Output(Path.Combine(dir, "c.png"), "out").Check();
        if (!OperatingSystem.IsLinux())
            return;
        // This machine's file systems tell case apart: A.png is another file than a.png (a case-insensitive
        // file system is found by looking the folder up under a case-swapped name; none is at hand here).
        new OutputPlan().Input(input, "in").Output(Path.Combine(dir, "A.png"), "out").Check();
    }

    [Fact]
    public void IsWithin_follows_the_file_system()
    {
        var sub = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        Assert.True(OutputPlan.IsWithin(Path.Combine(sub, "x"), sub));
        Assert.True(OutputPlan.IsWithin(sub + "/", Path.Combine(dir, "images", "..", "images")));
        Assert.False(OutputPlan.IsWithin(Path.Combine(dir, "images2"), sub));
        Assert.False(OutputPlan.IsWithin(dir, sub));
    }

    /// <summary>
    /// Root ignores file modes, so a permission-denied write cannot be produced here with chmod (and no read-only
    /// mount is at hand): the mapping from the runtime's exceptions to the one-line error is tested directly.
    /// </summary>
    [Theory]
    [InlineData("permission", "permission denied (cannot write here)")]
    [InlineData("full", "no space left on the device")]
    [InlineData("quota", "disk quota exceeded")]
    [InlineData("readonly", "read-only file system")]
    [InlineData("other", "cannot write (boom)")]
    public void Write_failures_of_the_environment_name_the_file(string kind, string problem)
    {
        Exception cause = kind switch
        {
            "permission" => new UnauthorizedAccessException("Access to the path '/x/y.json' is denied."),
            "full" => new IOException("No space left on device", 28),
            "quota" => new IOException("Disk quota exceeded", 122),
            "readonly" => new IOException("Read-only file system", 30),
            _ => new IOException("boom"),
        };
        Assert.True(OutputPaths.IsWriteFailure(cause));
        var error = OutputPaths.WriteFailure("/x/y.json", cause);
        Assert.Equal($"/x/y.json: {problem}", error.Message);
        Assert.Same(cause, error.InnerException);
    }
}
