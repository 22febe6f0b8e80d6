using System.Globalization;
using PixelBox.Imaging;
using PixelBox.Models;
using SkiaSharp;

namespace PixelBox.Visualization;

/// <summary>
/// Pictures of detections: each box outlined in its class's colour with a label "name 0.93" on a filled tab
/// of the same colour (dark or light text, whichever reads better). Small images are first enlarged
/// (nearest neighbour, whole factors) to about <see cref="MinSide"/> pixels so labels can be read; line width
/// and text size follow the picture's size. Lower scores are drawn first, so the best boxes stay on top.
/// </summary>
public static class DetectionOverlay
{
    /// <summary>Images smaller than this (longer side) are enlarged before drawing.</summary>
    public const int MinSide = 512;

    /// <summary>Class colours (RGB), repeating for more classes: ultralytics' palette, bright and distinct.</summary>
    static readonly uint[] Palette =
    [
        0xFF3838, 0xFF9D97, 0xFF701F, 0xFFB21D, 0xCFD231, 0x48F90A, 0x92CC17, 0x3DDB86, 0x1A9334, 0x00D4BB,
        0x2C99A8, 0x00C2FF, 0x344593, 0x6473FF, 0x0018EC, 0x8438FF, 0x520085, 0xCB38FF, 0xFF95C8, 0xFF37C7,
    ];

    static readonly Lazy<SKTypeface> Typeface = new(() =>
        SKFontManager.Default.MatchFamily("DejaVu Sans") ?? SKFontManager.Default.MatchFamily(null) ?? SKTypeface.Default);

    /// <summary>The RGB colour of class <paramref name="label"/>.</summary>
    public static (byte R, byte G, byte B) ColourOf(int label)
    {
        uint c = Palette[((label % Palette.Length) + Palette.Length) % Palette.Length];
        return ((byte)(c >> 16), (byte)(c >> 8), (byte)c);
    }

    /// <summary>Whole factor that brings the longer side of an image to at least <see cref="MinSide"/>.</summary>
    public static int EnlargementFor(int width, int height) => Math.Max(1, (int)Math.Ceiling((double)MinSide / Math.Max(width, height)));

    /// <summary>
    /// The image (enlarged when small) with the detections scoring at least <paramref name="minScore"/> drawn;
    /// boxes are in the image's own pixels. <paramref name="showScores"/> false labels with the class name
    /// only (ground truth).
    /// </summary>
    public static RgbImage Draw(RgbImage image, IReadOnlyList<DetectedObject> detections, IReadOnlyList<string> classNames,
        double minScore = 0, bool showScores = true)
    {
        int factor = EnlargementFor(image.Width, image.Height);
        var canvasImage = SegmentationOverlay.Enlarge(image, factor);
        int width = canvasImage.Width, height = canvasImage.Height;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var rgba = PixelsOf(bitmap);
        var pixels = canvasImage.Pixels;
        for (int i = 0, j = 0; i < pixels.Length; i += 3, j += 4)
        {
            rgba[j] = pixels[i];
            rgba[j + 1] = pixels[i + 1];
            rgba[j + 2] = pixels[i + 2];
            rgba[j + 3] = 255;
        }

        int side = Math.Max(width, height);
        float lineWidth = Math.Max(2f, side / 320f);
        using var font = new SKFont(Typeface.Value, Math.Max(12f, side / 42f));
        using var canvas = new SKCanvas(bitmap);
        using var stroke = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = lineWidth, IsAntialias = true };
        using var fill = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = false };
        using var text = new SKPaint { IsAntialias = true };
        var metrics = font.Metrics;
        float textHeight = metrics.Descent - metrics.Ascent;
        float pad = MathF.Ceiling(textHeight * 0.15f);

        foreach (var d in detections.Where(d => d.Score >= minScore).OrderBy(d => d.Score))
        {
            var (r, g, b) = ColourOf(d.Label);
            var colour = new SKColor(r, g, b);
            var box = new SKRect(d.X1 * factor, d.Y1 * factor, d.X2 * factor, d.Y2 * factor);
            stroke.Color = colour;
            canvas.DrawRect(box, stroke);

            string name = d.Label >= 0 && d.Label < classNames.Count ? classNames[d.Label] : d.Label.ToString(CultureInfo.InvariantCulture);
            string label = showScores ? $"{name} {d.Score.ToString("0.00", CultureInfo.InvariantCulture)}" : name;
            float tabWidth = font.MeasureText(label) + 2 * pad, tabHeight = textHeight + 2 * pad;
            // above the box when there is room, else just inside its top; never off the picture
            float left = Math.Clamp(box.Left - lineWidth / 2, 0, Math.Max(0, width - tabWidth));
            float top = box.Top - lineWidth / 2 - tabHeight >= 0 ? box.Top - lineWidth / 2 - tabHeight : Math.Clamp(box.Top, 0, Math.Max(0, height - tabHeight));
            fill.Color = colour;
            canvas.DrawRect(new SKRect(left, top, left + tabWidth, top + tabHeight), fill);
            text.Color = 0.299 * r + 0.587 * g + 0.114 * b > 150 ? SKColors.Black : SKColors.White;
            canvas.DrawText(label, left + pad, top + pad - metrics.Ascent, SKTextAlign.Left, font, text);
        }
        canvas.Flush();

        var result = new byte[(long)width * height * 3];
        rgba = PixelsOf(bitmap);
        for (int i = 0, j = 0; i < result.Length; i += 3, j += 4)
        {
            result[i] = rgba[j];
            result[i + 1] = rgba[j + 1];
            result[i + 2] = rgba[j + 2];
        }
        return new RgbImage(width, height, result);
    }

    /// <summary>The bitmap's RGBA bytes (tightly packed rows, as SKBitmap allocates them).</summary>
    static unsafe Span<byte> PixelsOf(SKBitmap bitmap)
    {
        if (bitmap.RowBytes != bitmap.Width * 4)
            throw new InvalidOperationException("unexpected row padding in a drawing bitmap");
        return new Span<byte>((void*)bitmap.GetPixels(), bitmap.Width * bitmap.Height * 4);
    }
}
