using System.Reflection;
using PixelBox.Fuzz;

namespace PixelBox.Tests.Fuzz;

[CollectionDefinition(Name)]
public sealed class FuzzCollection
{
    // the campaigns share SharpFuzz's static coverage map: one at a time
    public const string Name = "Fuzz campaigns";
}

/// <summary>
/// The bounded fuzz run of CI: every target of <see cref="FuzzTargets"/>, its seeds (which must pass) and then
/// a fixed number of mutants drawn with a fixed seed, so every run tries the same inputs and a slow machine
/// cannot make it fail (the per-input limit of 10 s is hundreds of times what an input takes).
/// A finding prints the input in base64; save it and replay it with the fuzz program (README, "Fuzzing").
/// </summary>
[Collection(FuzzCollection.Name)]
public class FuzzCampaignTests
{
    const int Seed = 20261201;

    [Theory]
    [InlineData("coco-json", 3000)]
    [InlineData("rle", 6000)]
    [InlineData("polygon", 3000)]
    [InlineData("png-mask", 8000)]
    [InlineData("rgb-image", 5000)]
    [InlineData("checkpoint", 5000)]
    [InlineData("voc-xml", 6000)]
    [InlineData("yolo-txt", 6000)]
    [InlineData("data-yaml", 3000)]
    public void A_bounded_campaign_finds_no_crash_hang_blowup_or_disagreement(string target, int inputs)
    {
        var report = FuzzEngine.Run(FuzzTargets.Get(target), new FuzzOptions
        {
            Inputs = inputs,
            Seed = Seed,
            PerInputTimeout = TimeSpan.FromSeconds(10),
        });
        Assert.True(report.Findings.Count == 0, report + Environment.NewLine + string.Join(Environment.NewLine,
            report.Findings.Select(f => $"{f.Kind}: {f.Message}{Environment.NewLine}input (base64): {Convert.ToBase64String(f.Input)}")));
        Assert.Equal(inputs, report.Inputs);
    }

    [Fact]
    public void Every_target_has_seeds_and_a_campaign_here()
    {
        var campaigns = typeof(FuzzCampaignTests).GetMethod(nameof(A_bounded_campaign_finds_no_crash_hang_blowup_or_disagreement))!
            .GetCustomAttributes<InlineDataAttribute>().Select(a => (string)a.GetData(null!).First()[0]).ToHashSet();
        foreach (var target in FuzzTargets.All)
        {
            Assert.Contains(target.Name, campaigns);
            Assert.NotEmpty(FuzzEngine.LoadSeeds(target.Name));
        }
    }
}
