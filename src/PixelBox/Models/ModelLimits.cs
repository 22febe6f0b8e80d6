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
}
