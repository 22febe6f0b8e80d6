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

    /// <summary>Relative error (to the largest output) above which a layer's bf16 kernel is taken to be broken.</summary>
    public const double Bf16ProbeTolerance = 0.05;

    /// <summary>
    /// Converts <paramref name="model"/> in place: bf16 weights (norm layers excepted) and channels-last convolution
    /// weights, as asked. Every convolution's bf16 kernel is first checked on a probe input against its float32
    /// result: libtorch 2.10's CPU kernels for convolutions with one input channel and for transposed
    /// convolutions with few channels return values tens of per cent off in bf16, so such a layer keeps float32
    /// weights and casts its input up and its output back down (hooks around its call). Returns the names of
    /// the layers kept in float32. Put the model in eval mode first; it is not meant to train afterwards.
    /// </summary>
    public static IReadOnlyList<string> Convert(nn.Module model, Precision precision, bool channelsLast)
    {
        precision = Resolve(precision);
        var keptFloat = new List<string>();
        using var noGrad = no_grad();
        if (channelsLast)
        {
            foreach (var module in model.modules())
            {
                if (module is not Convolution { weight: { } weight } || weight.dim() != 4)
                    continue;
                using var strided = ChannelsLast(weight);
                weight.set_(strided);
            }
        }
        if (precision != Precision.Bf16)
            return keptFloat;
        foreach (var (name, module) in model.named_modules())
        {
            if (module.children().Any() || module is NormBase || !module.parameters(recurse: false).Any())
                continue;
            if (module is Convolution conv && !Bf16Agrees(conv, channelsLast))
            {
                conv.register_forward_pre_hook((_, input) => input.to(ScalarType.Float32));
                conv.register_forward_hook((_, _, output) => output.to(ScalarType.BFloat16));
                keptFloat.Add(name);
                continue;
            }
            module.to(ScalarType.BFloat16);
        }
        return keptFloat;
    }

    /// <summary>Runs the layer on a small probe input in float32 and in bf16 (converting it); when the bf16 result is
    /// off by more than <see cref="Bf16ProbeTolerance"/> the layer is put back to its float32 weights and false returned.</summary>
    static bool Bf16Agrees(Convolution conv, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        var weight = conv.weight!;
        long inChannels = conv.transposed ? weight.shape[0] : weight.shape[1] * conv.groups;
        // A small input: the kernel's extent plus one (an output of 2 x 2 pixels; a transposed convolution: 3 x 3 inputs).
        long Side(int i) => conv.transposed ? 3 : Math.Max(1, conv.dilation[i] * (conv.kernel_size[i] - 1) + 2 - 2 * (conv.padding?[i] ?? 0));
        var probe = randn([1, inChannels, Side(0), Side(1)], generator: new Generator(20260101));
        if (channelsLast)
            probe = ChannelsLast(probe);
        var savedWeight = weight.detach().clone();
        var savedBias = conv.bias?.detach().clone();
        var reference = conv.forward(probe);
        conv.to(ScalarType.BFloat16);
        var result = conv.forward(probe.to(ScalarType.BFloat16)).to(ScalarType.Float32);
        double scale = reference.abs().max().item<float>();
        double error = (result - reference).abs().max().item<float>();
        if (error <= Bf16ProbeTolerance * Math.Max(scale, 1e-12))
            return true;
        conv.to(ScalarType.Float32);
        conv.weight!.copy_(savedWeight);
        conv.bias?.copy_(savedBias!);
        return false;
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
        Float32Layers = InferencePrecision.Convert(model, Precision, channelsLast);
    }

    /// <summary>Layers left in float32 because their bf16 kernel failed the probe (see <see cref="InferencePrecision.Convert"/>).</summary>
    public IReadOnlyList<string> Float32Layers { get; }

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
