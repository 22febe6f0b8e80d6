using System.CommandLine;
using System.Runtime.InteropServices;
using PixelBox.Inference;
using PixelBox.Interop;
using TorchSharp;

namespace PixelBox.Cli.Shared;

/// <summary>Torch settings every command that runs a model shares: the --threads option and process-wide switches.</summary>
static class TorchSetup
{
    /// <summary>More threads than this only oversubscribes any machine there is (libtorch's own pools stop far below).</summary>
    public const int MaxThreads = 1024;

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

    /// <summary>--threads N; not given, all cores. (No DefaultValueFactory: help would print this machine's core
    /// count as a second default next to "all cores".)</summary>
    public static Option<int?> ThreadsOption() =>
        new Option<int?>("--threads") { Description = "Torch compute threads [default: all cores]", HelpName = "N" }.InRange(1, MaxThreads);

    /// <summary>Process-wide torch settings for a command: compute threads (--threads, else all cores), no NNPACK,
    /// and freed tensor buffers kept for reuse (<see cref="NativeAllocator"/>).</summary>
    public static void Configure(ParseResult parse, Option<int?> threadsOption)
    {
        int threads = parse.GetValue(threadsOption) ?? Environment.ProcessorCount;
        torch.set_num_threads(threads);
        NativeTorch.DisableNnpack();
        NativeAllocator.KeepFreedBlocks();
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
