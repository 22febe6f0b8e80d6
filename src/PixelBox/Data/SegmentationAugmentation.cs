namespace PixelBox.Data;

/// <summary>
/// The joint training transform of torchvision's segmentation reference, in one pass over the output:
/// random scale by a factor in [MinScale, MaxScale] (image bilinear with half-pixel centres, like
/// <c>interpolate(align_corners=False)</c>; mask nearest, sampling the same centres), padding on the
/// right/bottom to at least CropSize (image with 0 = black, mask with IgnoreIndex), a random CropSize x
/// CropSize crop and a horizontal flip with probability 1/2. Only the crop is computed, so large scales cost
/// no more than small ones. All randomness comes from the <see cref="Random"/> passed to <see cref="Apply"/>,
/// drawn in a fixed order (scale, crop x, crop y, flip).
/// </summary>
public sealed class SegmentationAugmentation
{
    public SegmentationAugmentation(int cropSize, double minScale = 0.5, double maxScale = 2.0, bool hflip = true, byte ignoreIndex = 255)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cropSize, 1);
        if (!(minScale > 0) || !(maxScale >= minScale))
            throw new ArgumentOutOfRangeException(nameof(minScale), $"need 0 < minScale <= maxScale, got {minScale} and {maxScale}");
        CropSize = cropSize;
        MinScale = minScale;
        MaxScale = maxScale;
        HorizontalFlip = hflip;
        IgnoreIndex = ignoreIndex;
    }

    public int CropSize { get; }
    public double MinScale { get; }
    public double MaxScale { get; }
    public bool HorizontalFlip { get; }
    public byte IgnoreIndex { get; }

    public SegmentationSample Apply(SegmentationSample s, Random rng)
    {
        int w = s.Width, h = s.Height, crop = CropSize;
        if (s.Image.Length != (long)w * h * 3 || s.Mask.Length != (long)w * h)
            throw new ArgumentException($"sample '{s.Id}' has {s.Image.Length} image and {s.Mask.Length} mask bytes for {w}x{h}");
        double scale = MinScale + rng.NextDouble() * (MaxScale - MinScale);
        int scaledW = Math.Max(1, (int)Math.Round(w * scale)), scaledH = Math.Max(1, (int)Math.Round(h * scale));
        int left = rng.Next(Math.Max(scaledW, crop) - crop + 1);
        int top = rng.Next(Math.Max(scaledH, crop) - crop + 1);
        bool flip = HorizontalFlip && rng.NextDouble() < 0.5;

        // Per output column/row: where it samples the source (the scale uses the exact size ratio, as resize does).
        var cols = Axis(crop, left, scaledW, w, flip);
        var rows = Axis(crop, top, scaledH, h, mirrored: false);
        var image = new byte[crop * crop * 3];
        var mask = new byte[crop * crop];
        mask.AsSpan().Fill(IgnoreIndex);
        var src = s.Image;
        for (int oy = 0; oy < crop; oy++)
        {
            var r = rows[oy];
            if (r.Nearest < 0) continue; // padding row
            int row0 = r.Lo * w, row1 = r.Hi * w, nearestRow = r.Nearest * w;
            float wy = r.Weight;
            for (int ox = 0; ox < crop; ox++)
            {
                var c = cols[ox];
                if (c.Nearest < 0) continue;
                int o = oy * crop + ox;
                mask[o] = s.Mask[nearestRow + c.Nearest];
                int p00 = (row0 + c.Lo) * 3, p01 = (row0 + c.Hi) * 3, p10 = (row1 + c.Lo) * 3, p11 = (row1 + c.Hi) * 3;
                float wx = c.Weight;
                for (int ch = 0; ch < 3; ch++)
                {
                    float top0 = src[p00 + ch] + (src[p01 + ch] - src[p00 + ch]) * wx;
                    float bottom = src[p10 + ch] + (src[p11 + ch] - src[p10 + ch]) * wx;
                    image[o * 3 + ch] = (byte)(top0 + (bottom - top0) * wy + 0.5f);
                }
            }
        }
        return new SegmentationSample(s.Id, crop, crop, image, mask);
    }

    /// <summary>Source sampling along one axis: bilinear pair (Lo, Hi, weight of Hi) and the nearest index; Nearest = -1 marks padding.</summary>
    readonly record struct Sample(int Lo, int Hi, float Weight, int Nearest);

    static Sample[] Axis(int crop, int offset, int scaled, int source, bool mirrored)
    {
        var axis = new Sample[crop];
        double ratio = (double)source / scaled;
        for (int o = 0; o < crop; o++)
        {
            int t = offset + o; // coordinate in the scaled image padded on the right/bottom
            if (t >= scaled) { axis[o] = new Sample(0, 0, 0, -1); continue; }
            if (mirrored) t = scaled - 1 - t; // the flip acts on the scaled image, before padding (as in torchvision's reference)
            double centre = (t + 0.5) * ratio;
            int nearest = Math.Min((int)centre, source - 1);
            double pos = Math.Max(centre - 0.5, 0);
            int lo = Math.Min((int)pos, source - 1);
            int hi = Math.Min(lo + 1, source - 1);
            axis[o] = new Sample(lo, hi, (float)(pos - lo), nearest);
        }
        return axis;
    }
}
