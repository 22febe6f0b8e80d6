namespace PixelBox.Data;

/// <summary>
/// Resize keeping the aspect ratio to fit a Size x Size square, padding the rest evenly (YOLO's letterbox). Keeps
/// the numbers to map boxes both ways: <see cref="ToSource"/> turns boxes predicted on the letterboxed image into
/// pixels of the original image.
/// </summary>
public sealed record LetterboxTransform(int SourceWidth, int SourceHeight, int Size, int ScaledWidth, int ScaledHeight, int PadX, int PadY)
{
    public static LetterboxTransform For(int sourceWidth, int sourceHeight, int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sourceHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        double r = Math.Min((double)size / sourceWidth, (double)size / sourceHeight);
        int w = Math.Clamp((int)Math.Round(sourceWidth * r), 1, size), h = Math.Clamp((int)Math.Round(sourceHeight * r), 1, size);
        return new LetterboxTransform(sourceWidth, sourceHeight, size, w, h, (size - w) / 2, (size - h) / 2);
    }

    /// <summary>Per axis, the exact size ratio the image is resampled with (so boxes and pixels agree).</summary>
    public AxisMap X => new((double)ScaledWidth / SourceWidth, PadX);
    public AxisMap Y => new((double)ScaledHeight / SourceHeight, PadY);

    /// <summary>The letterboxed sample (padding = <paramref name="fill"/>); boxes are mapped, none is dropped.</summary>
    public DetectionSample Apply(DetectionSample s, byte fill = DetectionAugmentation.DefaultFill)
    {
        if (s.Width != SourceWidth || s.Height != SourceHeight)
            throw new ArgumentException($"sample '{s.Id}' is {s.Width}x{s.Height}, this letterbox is for {SourceWidth}x{SourceHeight}");
        return DetectionGeometry.Render(s.Id, Size, Size, [new Placement(s, X, Y, 0, 0, Size, Size)], fill, 0, 0);
    }

    /// <summary>Boxes (x0, y0, x1, y1 flat) on the letterboxed image, mapped to the original image's pixels and clipped to it.</summary>
    public float[] ToSource(ReadOnlySpan<float> boxes)
    {
        var result = new float[boxes.Length];
        for (int i = 0; i + 3 < boxes.Length; i += 4)
        {
            result[i] = (float)Math.Clamp(X.Inverse(boxes[i]), 0, SourceWidth);
            result[i + 1] = (float)Math.Clamp(Y.Inverse(boxes[i + 1]), 0, SourceHeight);
            result[i + 2] = (float)Math.Clamp(X.Inverse(boxes[i + 2]), 0, SourceWidth);
            result[i + 3] = (float)Math.Clamp(Y.Inverse(boxes[i + 3]), 0, SourceHeight);
        }
        return result;
    }

    /// <summary>Boxes in original pixels mapped onto the letterboxed image.</summary>
    public float[] ToLetterbox(ReadOnlySpan<float> boxes)
    {
        var result = new float[boxes.Length];
        for (int i = 0; i + 3 < boxes.Length; i += 4)
        {
            result[i] = (float)X.Forward(boxes[i]);
            result[i + 1] = (float)Y.Forward(boxes[i + 1]);
            result[i + 2] = (float)X.Forward(boxes[i + 2]);
            result[i + 3] = (float)Y.Forward(boxes[i + 3]);
        }
        return result;
    }
}

/// <summary>
/// Box-consistent training augmentation for detectors, YOLO style, producing Size x Size samples in one
/// resampling pass: with probability <see cref="MosaicProbability"/> a mosaic of the image and three others drawn
/// at random (each fitted to Size, placed around a random centre of a 2Size canvas, the canvas scaled by a random
/// factor about its centre and the middle Size x Size kept), otherwise the image fitted to Size (letterbox scale)
/// times a random factor and placed at a random position (cropped where it is larger, padded where smaller); then a
/// horizontal flip with probability <see cref="FlipProbability"/> and an HSV colour jitter. Boxes are clipped to
/// what remains visible and dropped when less than <see cref="MinVisibility"/> of their area or a side under
/// <see cref="MinBoxSide"/> pixels remains; instance masks, when the sample has them, are transformed alike.
/// All randomness comes from the <see cref="Random"/> given, drawn in a fixed order.
/// </summary>
public sealed class DetectionAugmentation
{
    public const byte DefaultFill = 114;

    public DetectionAugmentation(int size) => Size = size > 0 ? size : throw new ArgumentOutOfRangeException(nameof(size));

    public int Size { get; }
    public double MinScale { get; init; } = 0.5;
    public double MaxScale { get; init; } = 1.5;
    public double FlipProbability { get; init; } = 0.5;
    public double MosaicProbability { get; init; } = 1.0;
    /// <summary>Fraction of a box's area (within its image) that must stay visible for the box to be kept.</summary>
    public double MinVisibility { get; init; } = 0.25;
    public double MinBoxSide { get; init; } = 2;
    public ColourJitter Colour { get; init; } = new();
    public byte Fill { get; init; } = DefaultFill;

    /// <summary>Augments sample <paramref name="index"/> of <paramref name="data"/> (mosaic draws its other three images from it).</summary>
    public DetectionSample Apply(IReadOnlyList<DetectionSample> data, int index, Random rng)
    {
        if (!(MinScale > 0) || !(MaxScale >= MinScale))
            throw new ArgumentOutOfRangeException(nameof(MinScale), $"need 0 < MinScale <= MaxScale, got {MinScale} and {MaxScale}");
        var sample = data[index];
        List<Placement> placements;
        if (MosaicProbability > 0 && rng.NextDouble() < MosaicProbability)
        {
            var tiles = new[] { sample, data[rng.Next(data.Count)], data[rng.Next(data.Count)], data[rng.Next(data.Count)] };
            placements = Mosaic(tiles, rng);
        }
        else
            placements = [ScaleAndPlace(sample, rng)];
        if (FlipProbability > 0 && rng.NextDouble() < FlipProbability)
            placements = placements.Select(p => p with
            {
                X = p.X.Then(-1, Size),
                Left = Size - p.Right,
                Right = Size - p.Left,
            }).ToList();
        var result = DetectionGeometry.Render(sample.Id, Size, Size, placements, Fill, MinVisibility, MinBoxSide);
        Colour.Apply(result.Image, rng);
        return result;
    }

    Placement ScaleAndPlace(DetectionSample s, Random rng)
    {
        double fit = (double)Size / Math.Max(s.Width, s.Height);
        double scale = fit * (MinScale + rng.NextDouble() * (MaxScale - MinScale));
        double w = s.Width * scale, h = s.Height * scale;
        int left = Offset(w, rng), top = Offset(h, rng);
        return new Placement(s, new AxisMap(scale, left), new AxisMap(scale, top), 0, 0, Size, Size);
    }

    /// <summary>Where the scaled image starts: inside the canvas when it is smaller, a random crop when larger.</summary>
    int Offset(double extent, Random rng)
    {
        int slack = (int)Math.Floor(Math.Abs(Size - extent));
        int at = rng.Next(slack + 1);
        return extent <= Size ? at : -at;
    }

    List<Placement> Mosaic(DetectionSample[] tiles, Random rng)
    {
        int s = Size, canvas = 2 * Size;
        int xc = s / 2 + rng.Next(s + 1), yc = s / 2 + rng.Next(s + 1);
        double zoom = MinScale + rng.NextDouble() * (MaxScale - MinScale);
        // canvas -> output: scale about the canvas centre, keep the middle Size x Size
        double shift = s / 2.0 - s * zoom;
        int Out(double c) => (int)Math.Round(c * zoom + shift);
        var placements = new List<Placement>(4);
        for (int t = 0; t < 4; t++)
        {
            var tile = tiles[t];
            double fit = (double)s / Math.Max(tile.Width, tile.Height);
            double w = tile.Width * fit, h = tile.Height * fit;
            bool right = t is 1 or 3, bottom = t is 2 or 3;
            double x0 = right ? xc : xc - w, y0 = bottom ? yc : yc - h;
            // the tile's quadrant of the canvas
            double qx0 = right ? xc : Math.Max(0, xc - w), qx1 = right ? Math.Min(canvas, xc + w) : xc;
            double qy0 = bottom ? yc : Math.Max(0, yc - h), qy1 = bottom ? Math.Min(canvas, yc + h) : yc;
            placements.Add(new Placement(tile, new AxisMap(fit, x0).Then(zoom, shift), new AxisMap(fit, y0).Then(zoom, shift),
                Out(qx0), Out(qy0), Out(qx1), Out(qy1)));
        }
        return placements;
    }
}

/// <summary>
/// Random HSV jitter, as YOLO's (gains 0.015, 0.7, 0.4): hue shifted by up to ±Hue of the colour circle, saturation and
/// value multiplied by 1 ± Saturation and 1 ± Value (clipped). Zero gains leave the image untouched (and draw nothing).
/// </summary>
public sealed record ColourJitter(double Hue = 0.015, double Saturation = 0.7, double Value = 0.4)
{
    public static ColourJitter None { get; } = new(0, 0, 0);

    public void Apply(byte[] rgb, Random rng)
    {
        if (Hue == 0 && Saturation == 0 && Value == 0) return;
        double dh = (rng.NextDouble() * 2 - 1) * Hue * 6; // hue in sextants [0, 6)
        double gs = 1 + (rng.NextDouble() * 2 - 1) * Saturation;
        double gv = 1 + (rng.NextDouble() * 2 - 1) * Value;
        for (int p = 0; p < rgb.Length; p += 3)
        {
            double r = rgb[p], g = rgb[p + 1], b = rgb[p + 2];
            double max = Math.Max(r, Math.Max(g, b)), min = Math.Min(r, Math.Min(g, b)), chroma = max - min;
            double hue = chroma == 0 ? 0 : max == r ? (g - b) / chroma : max == g ? (b - r) / chroma + 2 : (r - g) / chroma + 4;
            double sat = max == 0 ? 0 : chroma / max;
            hue = (hue + dh) % 6;
            if (hue < 0) hue += 6;
            sat = Math.Min(1, sat * gs);
            double v = Math.Min(255, max * gv);
            double c = v * sat, x = c * (1 - Math.Abs(hue % 2 - 1)), m = v - c;
            (double r1, double g1, double b1) = (int)hue switch
            {
                0 => (c, x, 0.0),
                1 => (x, c, 0.0),
                2 => (0.0, c, x),
                3 => (0.0, x, c),
                4 => (x, 0.0, c),
                _ => (c, 0.0, x),
            };
            rgb[p] = (byte)Math.Clamp(Math.Round(r1 + m), 0, 255);
            rgb[p + 1] = (byte)Math.Clamp(Math.Round(g1 + m), 0, 255);
            rgb[p + 2] = (byte)Math.Clamp(Math.Round(b1 + m), 0, 255);
        }
    }
}
