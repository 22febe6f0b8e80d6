using Xunit.Abstractions;
using PixelBox.Interop;
using PixelBox.Models;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models;

/// <summary>Our model against PyTorch's logits for the same weights, loaded from each weight format.</summary>
public static class ModelParity
{
    /// <summary>The shared fixtures' float32 tolerance: max |diff| &lt;= 1e-4 * max(1, absmax(expected)).</summary>
    public static float Tolerance(Tensor expected) => 1e-4f * Math.Max(1f, expected.abs().max().item<float>());

    public static float MaxDifference(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var diff = (actual - expected).abs().max();
        return diff.item<float>();
    }

    /// <summary>Asserts closeness and that the reference is not degenerate (it varies over the image, so a
    /// model ignoring a layer could not pass); returns the max |diff| and writes it to the log.</summary>
    public static float AssertClose(string what, Tensor actual, Tensor expected, ITestOutputHelper log)
    {
        var (diff, tolerance) = (MaxDifference(actual, expected), Tolerance(expected));
        using var pixelStd = expected.std(dimensions: [-2L, -1L]).mean();
        var absMax = expected.abs().max().item<float>();
        log.WriteLine($"{what}: max |diff| {diff:G3} (tolerance {tolerance:G3}, absmax {absMax:G4}, per-pixel std {pixelStd.item<float>():G4})");
        Assert.True(pixelStd.item<float>() > 0.01f * absMax, $"{what}: the reference output hardly varies over the image");
        Assert.True(diff <= tolerance, $"{what}: max |diff| {diff} > tolerance {tolerance}");
        return diff;
    }

    /// <summary>Fills every floating tensor of the model's state with NaN, so anything a load leaves out shows.</summary>
    public static void Poison(nn.Module model)
    {
        using var noGrad = no_grad();
        foreach (var (_, t) in model.state_dict())
            if (t.is_floating_point())
                t.fill_(float.NaN);
    }

    /// <summary>For each of the case's .pth and .safetensors files: poison the model, load strictly, run the
    /// reference input in eval mode and compare "out" (and "aux" when the reference has it).</summary>
    public static void Check(PythonReferences references, string caseName, SegmentationModel model, ITestOutputHelper log)
    {
        var io = references.InputOutput(caseName);
        try
        {
            using (model)
            {
                model.eval();
                var entries = model.state_dict().Count;
                foreach (var format in new[] { ".pth", ".safetensors" })
                {
                    Poison(model);
                    var report = StateDictLoader.Load(model, references.PathOf(caseName + format));
                    Assert.True(report.IsExact, report.ToString());
                    Assert.Equal(entries, report.Loaded.Count);
                    using var noGrad = no_grad();
                    var (output, aux) = Forward(model, io["input"]);
                    using (output)
                    using (aux)
                    {
                        AssertClose($"{caseName}{format} out", output, io["out"], log);
                        if (io.TryGetValue("aux", out var expectedAux))
                            AssertClose($"{caseName}{format} aux", aux ?? throw new InvalidOperationException("no aux output"), expectedAux, log);
                    }
                }
            }
        }
        finally
        {
            foreach (var t in io.Values)
                t.Dispose();
            references.Release(caseName);
        }
    }

    static (Tensor Out, Tensor? Aux) Forward(SegmentationModel model, Tensor input) => model switch
    {
        SimpleSegmentationModel m => m.ForwardWithAux(input),
        PspNet m => m.ForwardWithAux(input),
        _ => (model.call(input), null),
    };
}
