using System.Runtime.InteropServices;

namespace PixelBox.Interop;

/// <summary>
/// Keeps glibc from handing every large tensor buffer back to the kernel when it is freed.
/// </summary>
/// <remarks>
/// libtorch allocates tensors with posix_memalign. glibc serves blocks above its mmap threshold (128 KiB at
/// first, adjusted upwards as blocks are freed) with a fresh mmap and unmaps them on free, so the next tensor of
/// that size page-faults all of its pages in again. On this project's virtual machines a fault costs about 6 us:
/// writing a 4 MB activation took 6-7 ms instead of 0.2 ms, and MobileNetV3's 1x1 and depthwise convolutions
/// 15-30 ms instead of 0.5-1.5 ms (measured with ONEDNN_VERBOSE: the time was in the reorder writing the new
/// output). Raising the mmap threshold to glibc's maximum (32 MiB) and the trim threshold keeps such blocks in
/// the heap for reuse. Memory freed stays with the process up to <see cref="TrimThresholdBytes"/>, a fair price
/// for a process that runs a model. Elsewhere than glibc on Linux this does nothing.
/// </remarks>
public static class NativeAllocator
{
    /// <summary>glibc's largest mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).</summary>
    public const int MmapThresholdBytes = 32 * 1024 * 1024;

    /// <summary>Free memory at the top of a heap kept before glibc returns it to the kernel.</summary>
    public const int TrimThresholdBytes = 512 * 1024 * 1024;

    const int M_TRIM_THRESHOLD = -1;
    const int M_MMAP_THRESHOLD = -3;

    static readonly Lazy<bool> Applied = new(Apply);

    /// <summary>Applies the thresholds (once per process); true when glibc accepted them.</summary>
    public static bool KeepFreedBlocks() => Applied.Value;

    static bool Apply()
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            // mallopt returns 1 on success; musl's is a stub that returns 0.
            return mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes) == 1 && mallopt(M_TRIM_THRESHOLD, TrimThresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc")]
    static extern int mallopt(int parameter, int value);
}
