using System.Runtime.Intrinsics.X86;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Inference;

/// <summary>Number format of libtorch inference.</summary>
public enum Precision
{
    /// <summary>bf16 where the CPU computes it natively (<see cref="CpuFeatures.HasNativeBf16"/>), else fp32.</summary>
    Auto,

    /// <summary>float32 throughout: the reference.</summary>
    Fp32,

    /// <summary>bfloat16 weights and activations (8 significant bits); BatchNorm statistics and outputs stay float32.</summary>
    Bf16,
}

/// <summary>The CPU features that decide <see cref="Precision.Auto"/>.</summary>
public static class CpuFeatures
{
    /// <summary>
    /// AVX-512 BF16 (CPUID leaf 7 subleaf 1, EAX bit 5) or AMX-BF16 (leaf 7, EDX bit 22) on an OS that enables
    /// AVX-512 state: oneDNN then runs bf16 convolutions with native dot products, several times faster than
    /// fp32. Elsewhere bf16 is emulated and slower, so <see cref="Precision.Auto"/> means fp32.
    /// </summary>
    public static bool HasNativeBf16 { get; } = DetectBf16();

    static bool DetectBf16()
    {
        if (!X86Base.IsSupported || !Avx512F.IsSupported)
            return false;
        var (maxLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maxLeaf < 7)
            return false;
        var (maxSubleaf, _, _, leaf7Edx) = X86Base.CpuId(7, 0);
        bool amxBf16 = (leaf7Edx & (1 << 22)) != 0;
        bool avx512Bf16 = maxSubleaf >= 1 && (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;
        return avx512Bf16 || amxBf16;
    }
}

/// <summary>
/// Runs libtorch models in bf16 and/or channels-last. TorchSharp has no autocast and no memory-format API,
/// but a channels-last tensor is only a stride order (NHWC in memory, NCHW in shape):
/// <c>t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)</c>. oneDNN picks its blocked NHWC kernels when
/// convolution weights and inputs are laid out so, and its convolutions then return channels-last outputs,
/// so the layout flows through the network. bf16 converts every layer's weights except normalisation layers,
/// whose statistics stay float32 (libtorch's CPU BatchNorm takes bf16 input with float32 parameters and
/// computes in float32).
/// </summary>
public static class InferencePrecision
{
    /// <summary><see cref="Precision.Auto"/> resolved for this CPU.</summary>
    public static Precision Resolve(Precision precision) =>
        precision == Precision.Auto ? (CpuFeatures.HasNativeBf16 ? Precision.Bf16 : Precision.Fp32) : precision;

    public static string Name(Precision precision) => precision switch
    {
        Precision.Fp32 => "fp32",
        Precision.Bf16 => "bf16",
        _ => "auto",
    };

    /// <summary>Converts <paramref name="model"/> in place: bf16 weights (norm layers excepted) and channels-last
    /// convolution weights, as asked. Put it in eval mode first; it is not meant to train afterwards.</summary>
    public static void Convert(nn.Module model, Precision precision, bool channelsLast)
    {
        precision = Resolve(precision);
        using var noGrad = no_grad();
        if (precision == Precision.Bf16)
            foreach (var module in model.modules())
                if (!module.children().Any() && module is not NormBase && module.parameters(recurse: false).Any())
                    module.to(ScalarType.BFloat16);
        if (!channelsLast)
            return;
        foreach (var module in model.modules())
        {
            if (module is not Convolution { weight: { } weight } || weight.dim() != 4)
                continue;
            using var strided = ChannelsLast(weight);
            weight.set_(strided);
        }
    }

    /// <summary>The same values with NHWC strides (a [N, C, H, W] tensor).</summary>
    public static Tensor ChannelsLast(Tensor t) => t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>The input a converted model expects: its dtype, and channels-last strides when asked.</summary>
    public static Tensor Input(Tensor images, Precision precision, bool channelsLast)
    {
        var dtype = Resolve(precision) == Precision.Bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        using var converted = images.to(dtype);
        return channelsLast ? ChannelsLast(converted) : converted.alias();
    }

    /// <summary>An output as the caller expects it: float32, contiguous NCHW.</summary>
    public static Tensor Output(Tensor output) => output.to(ScalarType.Float32).contiguous();
}

/// <summary>How a predictor runs its libtorch model.</summary>
/// <param name="Precision">Number format (default: bf16 where the CPU has it natively).</param>
/// <param name="ChannelsLast">Channels-last weights and activations; null: the model's registered preference
/// (<see cref="Models.ModelEntry.ChannelsLast"/>, measured per architecture).</param>
public sealed record InferenceOptions(Precision Precision = Precision.Auto, bool? ChannelsLast = null)
{
    /// <summary>bf16 where native, layout as measured fastest for the model.</summary>
    public static InferenceOptions Default { get; } = new();

    /// <summary>The reference: float32, NCHW, exactly the model's own forward.</summary>
    public static InferenceOptions Exact { get; } = new(Precision.Fp32, false);

    /// <summary>Whether to run channels-last for the registered model <paramref name="modelName"/>.</summary>
    public bool UsesChannelsLast(string modelName) => ChannelsLast ?? Models.ModelRegistry.Get(modelName).ChannelsLast;

    /// <summary>"bf16, channels-last" and the like, for progress lines.</summary>
    public string Describe(string modelName) =>
        $"{InferencePrecision.Name(InferencePrecision.Resolve(Precision))}{(UsesChannelsLast(modelName) ? ", channels-last" : "")}";
}

/// <summary>
/// A segmentation model converted for inference (<see cref="InferencePrecision.Convert"/>) that still takes
/// float32 NCHW images and returns float32 NCHW logits, so predictors, tilers and validators use it unchanged.
/// </summary>
public sealed class InferenceSegmentationModel : Models.SegmentationModel
{
    readonly Models.SegmentationModel model;

    /// <summary>Converts <paramref name="model"/> in place (it becomes this wrapper's; dispose the wrapper).</summary>
    public InferenceSegmentationModel(Models.SegmentationModel model, Precision precision, bool channelsLast)
        : base(model.GetName(), model.NumClasses, model.InChannels)
    {
        this.model = model;
        Precision = InferencePrecision.Resolve(precision);
        ChannelsLast = channelsLast;
        register_module("model", model);
        model.eval();
        InferencePrecision.Convert(model, Precision, channelsLast);
    }

    public Precision Precision { get; }

    public bool ChannelsLast { get; }

    /// <summary>The model as converted, or itself when the options ask for the plain float32 NCHW forward.</summary>
    public static Models.SegmentationModel Wrap(Models.SegmentationModel model, Precision precision, bool channelsLast) =>
        InferencePrecision.Resolve(precision) == Precision.Fp32 && !channelsLast ? model : new InferenceSegmentationModel(model, precision, channelsLast);

    public override int OutputSize(int inputSize) => model.OutputSize(inputSize);

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var converted = InferencePrecision.Input(input, Precision, ChannelsLast);
        return InferencePrecision.Output(model.forward(converted)).MoveToOuterDisposeScope();
    }
}
