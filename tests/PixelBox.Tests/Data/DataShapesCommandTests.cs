using PixelBox.Cli;

namespace PixelBox.Tests.Data;

// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(PixelBox.Tests.Cli.CliRunner.Collection)]
public class DataShapesCommandTests
{
    [Fact]
    public void WritesTheDatasetAndRefusesToOverwriteIt()
    {
        using var tmp = new TempDir();
        var dir = tmp.Combine("shapes");
        Assert.Equal(0, CliApp.Run(["data", "shapes", "--out", dir, "--count", "5", "--size", "24", "--seed", "3"]));
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir, "images"), "*.png").Length);
        Assert.Equal(5, Directory.GetFiles(Path.Combine(dir, "masks"), "*.png").Length);
        foreach (var f in new[] { "instances.json", "train.txt", "val.txt", "classes.txt" })
            Assert.True(File.Exists(Path.Combine(dir, f)), f);
        Assert.Single(File.ReadAllLines(Path.Combine(dir, "val.txt")));

        Assert.Equal(2, CliApp.Run(["data", "shapes", "--out", dir, "--count", "5"]));
        Assert.NotEqual(0, CliApp.Run(["data", "shapes", "--out", tmp.Combine("x"), "--size", "8"]));
        Assert.False(Directory.Exists(tmp.Combine("x")));
    }
}
