using PixelBox.Models;
using PixelBox.Models.Backbones;
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

    /// <summary>
    /// A small configuration of each registered segmentation model: the registry's architecture (same module
    /// types, forward and export code) with narrow layers and few blocks, so that every model's graph is checked
    /// in seconds. ResNet trunks keep a dilated stage of two blocks (the first keeps the previous dilation).
    /// </summary>
    public static SegmentationModel Build(string name) => name switch
    {
        "unet" => UNet.Valid(numClasses: 2, inChannels: 1, baseWidth: 4, depth: 3),
        "unet-same" => UNet.Same(numClasses: 3, inChannels: 3, baseWidth: 8, depth: 3, batchNorm: true),
        "fcn32s" => new Fcn(FcnVariant.Fcn32s, numClasses: 3, fcChannels: 64),
        "fcn16s" => new Fcn(FcnVariant.Fcn16s, numClasses: 3, fcChannels: 64),
        "fcn8s" => new Fcn(FcnVariant.Fcn8s, numClasses: 3, fcChannels: 64),
        "segnet" => new SegNet(numClasses: 3, inChannels: 3, widthDivisor: 16),
        "fcn-resnet50" or "fcn-resnet101" => FcnResNet.Create(name, SmallResNet(name, 8, FcnResNet.ReturnLayers(false)), 3, 3),
        "deeplabv3-resnet50" or "deeplabv3-resnet101" => DeepLabV3.Create(name, SmallResNet(name, 8, FcnResNet.ReturnLayers(false)), 3, 3, headChannels: 16),
        "deeplabv3-mobilenet-v3-large" => DeepLabV3.Create(name, new MobileNetV3Large(3, dilated: true, new Dictionary<int, string> { [16] = "out" }), 3, 3, headChannels: 16),
        "lraspp-mobilenet-v3-large" => new LrAspp(numClasses: 3, inChannels: 3, interChannels: 16),
        "deeplabv3plus-resnet50" or "deeplabv3plus-resnet101" =>
            DeepLabV3Plus.Create(name, SmallResNet(name, 16, DeepLabV3Plus.ReturnLayers), 3, 3, outputStride: 16, lowLevelChannels: 8, channels: 16),
        "pspnet-resnet50" or "pspnet-resnet101" => PspNet.Create(name, SmallResNet(name, 8, FcnResNet.ReturnLayers(false)), 3, 3, channels: 16),
        "hrnetv2-w18" or "hrnetv2-w48" => new HRNetV2(name, 3, 3, HRNetV2.Widths(name == "hrnetv2-w18" ? 4 : 6)
            .Select(stage => stage with { Modules = 1, Blocks = [.. stage.Blocks.Select(_ => 1)] }).ToArray()),
        _ => throw new ArgumentException($"no test configuration for {name}"),
    };

    /// <summary>A ResNet trunk of base width 8 with the block counts' proportions kept small (ResNet-101's layer3 the longest).</summary>
    static ResNet SmallResNet(string name, int outputStride, IReadOnlyDictionary<string, string> returns) =>
        new(name.EndsWith("101", StringComparison.Ordinal) ? [1, 1, 3, 2] : [1, 1, 2, 2], 3, outputStride, returns, baseWidth: 8);

    /// <summary>Two input sizes (H, W) of each test configuration: odd, not multiples of the output stride.</summary>
    public static (int H, int W)[] Sizes(string name) => name switch
    {
        "unet" => [(44, 44), (60, 76)],
        "unet-same" => [(24, 36), (32, 20)],
        "fcn32s" or "fcn16s" or "fcn8s" => [(13, 19), (6, 5)],
        _ => [(70, 90), (45, 61)],
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
