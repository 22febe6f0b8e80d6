using System.CommandLine;
using System.Runtime.InteropServices;
using PixelBox.Inference;
using TorchSharp;

namespace PixelBox.Cli.Shared;

/// <summary>Torch settings every command that runs a model shares: the --threads option and process-wide switches.</summary>
static class TorchSetup
{
    public static Option<int> ThreadsOption() =>
        new("--threads") { Description = "Torch compute threads (default: all cores)", DefaultValueFactory = _ => Environment.ProcessorCount, HelpName = "N" };

    /// <summary>The --precision option of commands that run a libtorch model (fp32, bf16 or auto).</summary>
    public static Option<Precision> PrecisionOption(string what) =>
        new("--precision")
        {
            Description = $"Number format of {what}: fp32, bf16, or auto = bf16 where the CPU computes it natively (AVX-512 BF16 or AMX" +
                          $"{(CpuFeatures.HasNativeBf16 ? ": this one does" : ": not this one")}), else fp32",
            DefaultValueFactory = _ => Precision.Auto,
            HelpName = "fp32|bf16|auto",
        };

    /// <summary>Whether the user typed the option (not its default).</summary>
    public static bool IsGiven(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>Process-wide torch settings for a command: compute threads, and no NNPACK.</summary>
    public static void Configure(int threads)
    {
        if (threads < 1) throw new InputException("--threads", $"must be at least 1 (got {threads})");
        torch.set_num_threads(threads);
        NativeTorch.DisableNnpack();
    }

    /// <summary>
    /// libtorch considers NNPACK for small single-image convolutions and, on CPUs NNPACK does not know
    /// (e.g. this project's AMD EPYC hosts), prints "Could not initialize NNPACK!" to stderr on every
    /// such call. TorchSharp has no switch for it, so we call at::Context::setUserEnabledNNPACK(false)
    /// by its Itanium-mangled name (Linux, macOS); elsewhere, or if the symbol moves, nothing changes.
    /// </summary>
    static class NativeTorch
    {
        [DllImport("libtorch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
        static extern IntPtr GlobalContext();

        [DllImport("libtorch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
        static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

        public static void DisableNnpack()
        {
            if (OperatingSystem.IsWindows())
                return;
            try
            {
                SetUserEnabledNnpack(GlobalContext(), false);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                // Only a cosmetic warning is at stake.
            }
        }
    }
}
