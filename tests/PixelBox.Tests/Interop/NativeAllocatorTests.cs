using PixelBox.Interop;

namespace PixelBox.Tests.Interop;

public class NativeAllocatorTests
{
    [Fact]
    public void GlibcAcceptsTheThresholdsOnLinux()
    {
        Assert.Equal(OperatingSystem.IsLinux(), NativeAllocator.KeepFreedBlocks());
        Assert.Equal(OperatingSystem.IsLinux(), NativeAllocator.KeepFreedBlocks()); // once per process, same answer
    }
}
