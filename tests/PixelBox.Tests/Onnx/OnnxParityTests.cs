using PixelBox.Models;
using PixelBox.Models.Segmentation;
using PixelBox.Onnx;
using PixelBox.Tests.Models;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace PixelBox.Tests.Onnx;

/// <summary>
/// Each model's ONNX graph, run by ONNX Runtime, equals its libtorch forward to float tolerance: at two input
/// sizes of one dynamic-size export, and at the size of a static export. Weights and BatchNorm statistics
/// come from the reference formula (every layer matters; FCN's zero-initialised score layers too).
/// </summary>
public class OnnxParityTests(ITestOutputHelper output)
{
    /// <summary>Largest |ONNX - libtorch| allowed, relative to the largest |libtorch| output.</summary>
    const double Tolerance = 1e-4;

    /// <summary>A small configuration of each registered segmentation model, with two input sizes (H, W) it takes.</summary>
    public static SegmentationModel Build(string name) => name switch
    {
        "unet" => UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 4, depth: 3),
        "unet-same" => UNet.Same(numClasses: 3, inChannels: 3, baseWidth: 8, depth: 3, batchNorm: true),
        "fcn32s" => new Fcn(FcnVariant.Fcn32s, numClasses: 3, fcChannels: 64),
        "fcn16s" => new Fcn(FcnVariant.Fcn16s, numClasses: 3, fcChannels: 64),
        "fcn8s" => new Fcn(FcnVariant.Fcn8s, numClasses: 3, fcChannels: 64),
        _ => throw new ArgumentException($"no test configuration for {name}"),
    };

    static (int H, int W)[] Sizes(string name) => name switch
    {
        "unet" => [(44, 44), (60, 76)],
        "unet-same" => [(24, 36), (32, 20)],
        _ => [(13, 19), (6, 5)],
    };

    public static TheoryData<string> SegmentationModels => [.. ModelRegistry.NamesOf(ModelTasks.Segmentation)];

    [Theory]
    [MemberData(nameof(SegmentationModels))]
    public void Segmentation_graph_equals_the_libtorch_forward(string name)
    {
        using var model = Build(name);
        ReferenceWeights.Fill(model);
        model.eval();
        var sizes = Sizes(name);
        var dynamicPath = OnnxTestExport.Write(model, model.InChannels, ["logits"], new OnnxExportOptions { DynamicSize = true });
        using (var dynamicSession = OnnxRuntimeSession.Open(dynamicPath, threads: 1))
            foreach (var (h, w) in sizes)
                AssertSameOutput(model, dynamicSession, h, w, $"{name} dynamic");
        // Static crops and sizes are constants instead of shape arithmetic: checked once per family (FCN-8s has every crop).
        if (name is "fcn16s" or "fcn32s")
            return;
        var staticPath = OnnxTestExport.Write(model, model.InChannels, ["logits"], new OnnxExportOptions { Height = sizes[0].H, Width = sizes[0].W });
        using var staticSession = OnnxRuntimeSession.Open(staticPath, threads: 1);
        AssertSameOutput(model, staticSession, sizes[0].H, sizes[0].W, $"{name} static");
    }

    /// <remarks>Batch 1: on these FCN shapes libtorch's batched float32 convolutions were 1e-2 (relative) from a
    /// float64 forward while ONNX Runtime and libtorch's batch-1 path agree with it to 1e-6.</remarks>
    void AssertSameOutput(SegmentationModel model, OnnxRuntimeSession session, int h, int w, string what)
    {
        using var scope = NewDisposeScope();
        var input = ReferenceWeights.Value($"input{h}x{w}", [1, model.InChannels, h, w], "input");
        Tensor expected;
        using (no_grad())
            expected = model.forward(input).contiguous();
        var outputs = session.Run(input.data<float>().ToArray(), input.shape);
        Assert.Single(outputs);
        Assert.Equal(expected.shape, outputs[0].Shape);
        var actual = tensor(outputs[0].Values).reshape(expected.shape);
        double error = (actual - expected).abs().max().item<float>();
        double scale = expected.abs().max().item<float>();
        output.WriteLine($"{what} {h}x{w}: max |onnx - libtorch| = {error:E2} (max |logit| {scale:F3}, relative {error / scale:E2})");
        Assert.True(scale > 0.05, $"{what}: outputs nearly zero ({scale}); the test would prove nothing");
        Assert.True(error <= Tolerance * scale, $"{what} {h}x{w}: max error {error} > {Tolerance} x {scale}");
    }
}
