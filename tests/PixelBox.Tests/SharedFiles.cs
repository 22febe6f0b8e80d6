namespace PixelBox.Tests;

/// <summary>
/// Locates the read-only <c>shared/</c> folder that sits beside the repository (as in CI: ../shared),
/// holding reference fixtures made with pycocotools and torchvision. Never copied into the repo.
/// </summary>
public static class SharedFiles
{
    static readonly Lazy<string> RootDir = new(FindRoot);

    public static string Root => RootDir.Value;

    /// <summary>Absolute path of a file or folder under shared/fixtures, e.g. Fixture("coco", "tiny", "gt.json").</summary>
    public static string Fixture(params string[] parts) => Path.Combine([Root, "fixtures", .. parts]);

    static string FindRoot()
    {
        var fromEnv = Environment.GetEnvironmentVariable("PIXELBOX_SHARED");
        if (!string.IsNullOrEmpty(fromEnv) && Directory.Exists(Path.Combine(fromEnv, "fixtures")))
            return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared");
            if (Directory.Exists(Path.Combine(candidate, "fixtures")))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            "shared/fixtures not found above " + AppContext.BaseDirectory + " (set PIXELBOX_SHARED to the shared folder)");
    }
}
