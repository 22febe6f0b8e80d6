using System.Text.Json;
using TorchSharp;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

/// <summary>
/// TorchVision for .NET already ships <c>torchvision.ops.sigmoid_focal_loss</c> (a port of the Python op), so
/// PixelBox does not re-implement it; these tests hold it to the values Python torchvision 0.14 produced.
/// </summary>
public class SigmoidFocalLossFixtureTests
{
    static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(SharedFiles.Fixture("torchvision", "ops", "sigmoid_focal_loss.json"))));

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var c in Fixture.Value.RootElement.GetProperty("cases").EnumerateArray())
            names.Add(c.GetProperty("name").GetString()!);
        return names;
    }

    [Fact]
    public void FixtureCoversEveryReductionAndTheAlphaOffSwitch()
    {
        var cases = Fixture.Value.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.Equal(16, cases.Count);
        Assert.Equal(["mean", "none", "sum"], cases.Select(c => c.GetProperty("reduction").GetString()).Distinct().Order());
        Assert.Contains(cases, c => c.GetProperty("alpha").GetDouble() < 0);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void TorchVisionSigmoidFocalLossMatchesPythonTorchvision(string name)
    {
        using var scope = NewDisposeScope();
        var c = Fixture.Value.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        var reduction = c.GetProperty("reduction").GetString() switch
        {
            "none" => nn.Reduction.None,
            "mean" => nn.Reduction.Mean,
            "sum" => nn.Reduction.Sum,
            var other => throw new InvalidDataException($"unknown reduction {other}"),
        };
        var inputs = FloatTensor(c.GetProperty("inputs"));
        var targets = FloatTensor(c.GetProperty("targets"));
        var expected = FloatTensor(c.GetProperty("loss"));

        var loss = torchvision.ops.sigmoid_focal_loss(inputs, targets,
            c.GetProperty("alpha").GetDouble(), c.GetProperty("gamma").GetDouble(), reduction);

        Assert.Equal(expected.shape, loss.shape);
        var want = Values(expected);
        var got = Values(loss);
        // float32 BCE-with-logits loses about eps32 * |x| absolute to cancellation, which is large relative to the
        // tiny losses at |x| ~ 7-8; libtorch 1.13 and 2.10 round those differently (up to 8.2e-5 relative seen).
        for (int i = 0; i < want.Length; i++)
            Assert.True(Math.Abs(want[i] - got[i]) <= 1e-4 * Math.Abs(want[i]),
                $"{name}[{i}]: torchvision {want[i]:R}, TorchSharp {got[i]:R}");
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var random = new Random(13);
        var targets = Enumerable.Range(0, 12).Select(_ => (double)random.Next(2)).ToArray();
        AssertGradientMatchesFiniteDifferences(
            x => torchvision.ops.sigmoid_focal_loss(x, Float64(targets, 3, 4), 0.25, 2.0, nn.Reduction.Mean),
            RandomNormal(random, 12, 2), [3, 4]);
    }

    /// <summary>A float32 tensor from a JSON number or nested arrays of numbers.</summary>
    static Tensor FloatTensor(JsonElement element)
    {
        var shape = new List<long>();
        for (var e = element; e.ValueKind == JsonValueKind.Array; e = e[0])
            shape.Add(e.GetArrayLength());
        var values = new List<float>();
        void Collect(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array)
                foreach (var child in e.EnumerateArray()) Collect(child);
            else
                values.Add(e.GetSingle());
        }
        Collect(element);
        return tensor(values.ToArray(), shape.ToArray());
    }
}
