using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Visualization;

/// <summary>Pictures of a predicted (or ground-truth) index mask over its image.</summary>
public static class SegmentationOverlay
{
    /// <summary>
    /// The image with each labelled pixel mixed with its class colour: out = (1 - alpha) * image + alpha *
    /// colour. Background (label 0) and <paramref name="ignoreIndex"/> pixels are left as they are so the
    /// picture shows the objects. Colours come from <paramref name="palette"/> (RGB triples by label; the
    /// VOC colour map by default).
    /// </summary>
    public static RgbImage Blend(RgbImage image, IndexMask mask, double alpha = 0.5, ReadOnlySpan<byte> palette = default, int ignoreIndex = 255)
    {
        if (image.Width != mask.Width || image.Height != mask.Height)
            throw new ArgumentException($"mask is {mask.Width}x{mask.Height} but the image is {image.Width}x{image.Height}");
        if (!(alpha >= 0 && alpha <= 1))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must be in [0, 1]");
        var colours = palette.IsEmpty ? IndexMaskPng.VocPalette : palette;
        int a = (int)Math.Round(alpha * 256);
        var pixels = (byte[])image.Pixels.Clone();
        var labels = mask.Pixels;
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if (label == 0 || label == ignoreIndex || 3 * label + 2 >= colours.Length)
                continue;
            for (int c = 0; c < 3; c++)
            {
                int p = 3 * i + c;
                pixels[p] = (byte)((pixels[p] * (256 - a) + colours[3 * label + c] * a + 128) >> 8);
            }
        }
        return new RgbImage(image.Width, image.Height, pixels);
    }

    /// <summary>Two images of the same height next to each other, left first.</summary>
    public static RgbImage SideBySide(RgbImage left, RgbImage right)
    {
        if (left.Height != right.Height)
            throw new ArgumentException($"heights differ ({left.Height} and {right.Height})");
        int width = left.Width + right.Width, height = left.Height;
        var pixels = new byte[(long)width * height * 3];
        for (int y = 0; y < height; y++)
        {
            left.Pixels.AsSpan(y * left.Width * 3, left.Width * 3).CopyTo(pixels.AsSpan(y * width * 3));
            right.Pixels.AsSpan(y * right.Width * 3, right.Width * 3).CopyTo(pixels.AsSpan((y * width + left.Width) * 3));
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Each pixel repeated factor x factor times (nearest neighbour, so label edges stay crisp): small
    /// images become big enough to look at.</summary>
    public static RgbImage Enlarge(RgbImage image, int factor)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(factor, 1);
        if (factor == 1) return image;
        int width = image.Width * factor, height = image.Height * factor;
        var pixels = new byte[(long)width * height * 3];
        for (int y = 0; y < image.Height; y++)
        {
            var row = pixels.AsSpan(y * factor * width * 3, width * 3);
            for (int x = 0; x < image.Width; x++)
                for (int k = 0; k < factor; k++)
                    image.Pixels.AsSpan((y * image.Width + x) * 3, 3).CopyTo(row[((x * factor + k) * 3)..]);
            for (int k = 1; k < factor; k++)
                row.CopyTo(pixels.AsSpan((y * factor + k) * width * 3, width * 3));
        }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>The picture <c>predict seg</c> writes: the image, and beside it the image with the mask blended in.</summary>
    public static RgbImage ImageAndBlend(RgbImage image, IndexMask mask, double alpha = 0.5) =>
        SideBySide(image, Blend(image, mask, alpha));
}
