using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Interop;

/// <summary>
/// Guards against a libtorch bug: the oneDNN 3.7.1 in libtorch 2.10 (TorchSharp 0.107) returns wrong float32
/// convolutions — values from uninitialised scratch memory, different from call to call, sometimes NaN — on
/// AVX-512 CPUs (seen on this project's AMD EPYC hosts) when a convolution larger than 1x1 has more than 16
/// channels and a count that is not a multiple of 16 (HRNet-W18's 18/36/72-channel streams, a 21-class 3x3
/// classifier, a U-Net of width 24). Python torch 1.13 on the same machine is exact.
/// </summary>
/// <remarks>
/// <see cref="Ensure"/> probes once per process (a few small convolutions against float64, with a private
/// generator so torch's global random sequence is untouched) and, only if they are wrong, turns oneDNN off
/// for the process (<c>at::Context::setUserEnabledMkldnn(false)</c>, like Python's
/// <c>torch.backends.mkldnn.enabled = False</c>): libtorch then runs its own convolution kernels, which are
/// exact but slower for large standard networks. Every model and backbone calls it before it is built.
/// </remarks>
public static class OneDnnConvolutionGuard
{
    static readonly Lazy<bool> Outcome = new(ProbeAndFix, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>True when the probe found wrong convolutions and oneDNN was turned off.</summary>
    public static bool Applied => Outcome.Value;

    /// <summary>Probes (once) and applies the workaround if needed.</summary>
    public static void Ensure() => _ = Outcome.Value;

    /// <summary>The largest relative error of float32 against float64 over the probe convolutions (NaN if any is NaN).</summary>
    public static double ProbeError()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(20241202);
        var worst = 0.0;
        foreach (var (channels, height, width) in new[] { (18, 46, 61), (40, 29, 31), (36, 23, 31) })
        {
            var input = randn([1, channels, height, width], generator: generator);
            var weight = randn([channels, channels, 3, 3], generator: generator);
            var exact = nn.functional.conv2d(input.to_type(ScalarType.Float64), weight.to_type(ScalarType.Float64), padding: [1, 1]);
            var scale = exact.abs().max().item<double>();
            for (var run = 0; run < 2; run++)
            {
                var error = (nn.functional.conv2d(input, weight, padding: [1, 1]).to_type(ScalarType.Float64) - exact).abs().max().item<double>() / scale;
                if (double.IsNaN(error))
                    return double.NaN;
                worst = Math.Max(worst, error);
            }
        }
        return worst;
    }

    static bool ProbeAndFix()
    {
        var error = ProbeError();
        if (error <= 1e-4)
            return false;
        return NativeContext.DisableMkldnn();
    }

    static class NativeContext
    {
        [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
        static extern IntPtr GlobalContext();

        [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
        static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        /// <summary>False where the C++ symbols are not reachable by these (Itanium) names, e.g. Windows.</summary>
        public static bool DisableMkldnn()
        {
            if (OperatingSystem.IsWindows())
                return false;
            try
            {
                SetUserEnabledMkldnn(GlobalContext(), false);
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }
    }
}
