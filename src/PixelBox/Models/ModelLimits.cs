namespace PixelBox.Models;

/// <summary>
/// Bounds on model settings a user may ask for: beyond them a model cannot be built in memory or the
/// arithmetic of its shapes overflows, so asking is a mistake to report, not to attempt.
/// </summary>
public static class ModelLimits
{
    /// <summary>Output classes (LVIS has 1,203; ImageNet-21k 21,841).</summary>
    public const int MaxClasses = 100_000;

    /// <summary>Input channels (RGB 3, multispectral tens, hyperspectral a few hundred).</summary>
    public const int MaxInChannels = 1024;

    /// <summary>
    /// Channels of a U-Net's bottom level, width * 2^(depth-1). Parameters grow with its square (about
    /// 30 * bottom^2: 7.8 million at the default 32 x 2^4 = 512); at 4096 a unet-same has ~0.5 billion
    /// parameters, 1.9 GiB of float32 weights and ~7.5 GiB with gradients and AdamW's two moments: the
    /// largest network a big workstation can still train. Past it the memory, not the user, decides.
    /// </summary>
    public const int MaxUNetBottomWidth = 4096;

    /// <summary>First-level channels of unet-same (its bottom level, at depth 2, is twice as wide).</summary>
    public const int MaxUNetWidth = MaxUNetBottomWidth / 2;

    /// <summary>
    /// Levels of unet-same: input sides must be multiples of 2^(depth-1), 512 at depth 10, so deeper
    /// networks need images of several thousand pixels just to keep an 8x8 map at the bottom.
    /// </summary>
    public const int MaxUNetDepth = 10;

    /// <summary>The problem with a unet-same of this width and depth, or null when it can be built.</summary>
    public static string? UNetSizeProblem(int width, int depth)
    {
        if (width is < 1 or > MaxUNetWidth)
            return $"width {width} is outside [1, {MaxUNetWidth}]";
        if (depth is < 2 or > MaxUNetDepth)
            return $"depth {depth} is outside [2, {MaxUNetDepth}]";
        long bottom = (long)width << (depth - 1);
        if (bottom > MaxUNetBottomWidth)
            return $"width {width} and depth {depth} give the bottom level {bottom} channels (width * 2^(depth-1)); " +
                   $"at most {MaxUNetBottomWidth} (~0.5 billion parameters) can be built";
        return null;
    }
}
