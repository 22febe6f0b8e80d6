using PixelBox.Imaging;
using PixelBox.Models;
using PixelBox.Visualization;

namespace PixelBox.Tests.Visualization;

public class DetectionOverlayTests
{
    static RgbImage Grey(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, (byte)128);
        return new RgbImage(width, height, pixels);
    }

    static (byte, byte, byte) At(RgbImage image, int x, int y) =>
        (image.Pixels[(y * image.Width + x) * 3], image.Pixels[(y * image.Width + x) * 3 + 1], image.Pixels[(y * image.Width + x) * 3 + 2]);

    [Fact]
    public void SmallImagesAreEnlargedAndBoxesDrawnInTheirClassColour()
    {
        var picture = DetectionOverlay.Draw(Grey(64, 32), [new DetectedObject(16, 16, 48, 30, 0.9f, 2)], ["a", "b", "c"]);
        Assert.Equal((512, 256), (picture.Width, picture.Height));
        // left edge of the box at x = 16 * 8, half-way down it; the inside stays grey
        Assert.Equal(DetectionOverlay.ColourOf(2), At(picture, 128, 200));
        Assert.Equal(((byte)128, (byte)128, (byte)128), At(picture, 256, 200));
        // the label tab above the box is filled with the class colour (and holds text of another colour)
        var tab = Enumerable.Range(129, 40).Select(x => At(picture, x, 120)).ToList();
        Assert.Contains(DetectionOverlay.ColourOf(2), tab);
    }

    [Fact]
    public void DetectionsBelowTheDrawingThresholdAreLeftOut()
    {
        var image = Grey(600, 400);
        var picture = DetectionOverlay.Draw(image, [new DetectedObject(100, 100, 300, 300, 0.1f, 0)], ["a"], minScore: 0.25);
        Assert.Equal(image.Pixels, picture.Pixels);
        Assert.NotEqual(DetectionOverlay.ColourOf(0), DetectionOverlay.ColourOf(1));
    }
}
