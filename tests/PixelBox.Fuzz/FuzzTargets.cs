using PixelBox.Fuzz.Targets;

namespace PixelBox.Fuzz;

/// <summary>
/// Every fuzz target. To add one: write a <see cref="FuzzTarget"/> (a name, a line on what it checks, and
/// <c>Run</c>, which feeds the input to the reader and throws <see cref="PropertyViolation"/> when a property
/// fails), list it here, put a few tiny seed files in tests/fuzz-corpus/NAME, and add its name to the
/// inline data of tests/PixelBox.Tests/Fuzz/FuzzCampaignTests.cs with an input count.
/// </summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        CocoJsonTarget.Create(),
        RleTarget.Create(),
        PolygonTarget.Create(),
        ImageTargets.PngMask(),
        ImageTargets.RgbImage(),
        CheckpointTarget.Create(),
        DetectionTargets.VocXml(),
        DetectionTargets.YoloTxt(),
        DetectionTargets.DataYaml(),
    ];

    public static FuzzTarget Get(string name) =>
        All.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"no fuzz target '{name}' (targets: {string.Join(", ", All.Select(t => t.Name))})");
}
