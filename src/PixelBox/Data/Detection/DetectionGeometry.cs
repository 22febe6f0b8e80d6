namespace PixelBox.Data;

/// <summary>
/// An axis of an axis-aligned image transform: output = source * Scale + Offset, in continuous pixel coordinates
/// (a negative scale mirrors). Image, masks and boxes all go through the same maps, so they stay consistent.
/// </summary>
public readonly record struct AxisMap(double Scale, double Offset)
{
    public double Forward(double source) => source * Scale + Offset;
    public double Inverse(double output) => (output - Offset) / Scale;

    /// <summary>This map followed by out' = out * scale + offset.</summary>
    public AxisMap Then(double scale, double offset) => new(Scale * scale, Offset * scale + offset);

    public static AxisMap Identity { get; } = new(1, 0);
}

/// <summary>
/// A source sample drawn onto an output canvas through (X, Y), painting only the output rectangle
/// [Left, Right) x [Top, Bottom) (a mosaic tile; the whole canvas otherwise).
/// </summary>
public sealed record Placement(DetectionSample Source, AxisMap X, AxisMap Y, int Left, int Top, int Right, int Bottom);

/// <summary>
/// Draws placements onto a canvas: image bilinear (half-pixel centres, as interpolate(align_corners=False)), masks
/// nearest (the source pixel under the output pixel's centre), boxes mapped exactly, clipped to the painted
/// rectangle and the source image, and kept when at least <c>minVisibility</c> of their (in-image) area remains and
/// both sides are at least <c>minSide</c> pixels. Output pixels no source covers are <c>fill</c>.
/// </summary>
public static class DetectionGeometry
{
    public static DetectionSample Render(string id, int width, int height, IReadOnlyList<Placement> placements, byte fill,
                                         double minVisibility, double minSide)
    {
        var image = new byte[width * height * 3];
        image.AsSpan().Fill(fill);
        bool withMasks = placements.Any(p => p.Source.Masks is not null && p.Source.Count > 0);
        var boxes = new List<float>();
        var labels = new List<int>();
        var crowd = new List<bool>();
        var difficult = new List<bool>();
        var masks = withMasks ? new List<byte[]>() : null;
        bool anyCrowd = placements.Any(p => p.Source.IsCrowd is not null), anyDifficult = placements.Any(p => p.Source.Difficult is not null);
        foreach (var p in placements)
        {
            int left = Math.Max(p.Left, 0), top = Math.Max(p.Top, 0), right = Math.Min(p.Right, width), bottom = Math.Min(p.Bottom, height);
            if (right <= left || bottom <= top) continue;
            var cols = Axis(p.X, left, right, p.Source.Width);
            var rows = Axis(p.Y, top, bottom, p.Source.Height);
            DrawImage(p.Source, image, width, cols, rows, left, top);
            var s = p.Source;
            // the source image's extent on the canvas, within the painted rectangle
            double ex0 = Math.Max(left, Math.Min(p.X.Forward(0), p.X.Forward(s.Width))), ex1 = Math.Min(right, Math.Max(p.X.Forward(0), p.X.Forward(s.Width)));
            double ey0 = Math.Max(top, Math.Min(p.Y.Forward(0), p.Y.Forward(s.Height))), ey1 = Math.Min(bottom, Math.Max(p.Y.Forward(0), p.Y.Forward(s.Height)));
            for (int k = 0; k < s.Count; k++)
            {
                // the part of the box inside its source image, mapped; then what the painted rectangle keeps of it
                double sx0 = Math.Clamp(s.Boxes[4 * k], 0, s.Width), sx1 = Math.Clamp(s.Boxes[4 * k + 2], 0, s.Width);
                double sy0 = Math.Clamp(s.Boxes[4 * k + 1], 0, s.Height), sy1 = Math.Clamp(s.Boxes[4 * k + 3], 0, s.Height);
                if (!(sx1 > sx0) || !(sy1 > sy0)) continue;
                double ax = p.X.Forward(sx0), bx = p.X.Forward(sx1), ay = p.Y.Forward(sy0), by = p.Y.Forward(sy1);
                double x0 = Math.Min(ax, bx), x1 = Math.Max(ax, bx), y0 = Math.Min(ay, by), y1 = Math.Max(ay, by);
                double full = (x1 - x0) * (y1 - y0);
                double cx0 = Math.Max(x0, ex0), cx1 = Math.Min(x1, ex1), cy0 = Math.Max(y0, ey0), cy1 = Math.Min(y1, ey1);
                if (!(cx1 > cx0) || !(cy1 > cy0)) continue;
                double kept = (cx1 - cx0) * (cy1 - cy0);
                if (kept < minVisibility * full || cx1 - cx0 < minSide || cy1 - cy0 < minSide) continue;
                boxes.Add((float)cx0); boxes.Add((float)cy0); boxes.Add((float)cx1); boxes.Add((float)cy1);
                labels.Add(s.Labels[k]);
                crowd.Add(s.IsCrowd?[k] ?? false);
                difficult.Add(s.Difficult?[k] ?? false);
                if (masks is not null)
                {
                    var plane = new byte[width * height];
                    if (s.Masks is not null) DrawMask(s.Masks[k], s.Width, plane, width, cols, rows, left, top);
                    masks.Add(plane);
                }
            }
        }
        return new DetectionSample(id, width, height, image, boxes.ToArray(), labels.ToArray())
        {
            IsCrowd = anyCrowd ? crowd.ToArray() : null,
            Difficult = anyDifficult ? difficult.ToArray() : null,
            Masks = masks?.ToArray(),
        };
    }

    /// <summary>Source sampling of one output column/row: bilinear pair (Lo, Hi, weight of Hi) and nearest; Nearest = -1 outside the source.</summary>
    readonly record struct Tap(int Lo, int Hi, float Weight, int Nearest);

    static Tap[] Axis(AxisMap map, int from, int to, int source)
    {
        var taps = new Tap[to - from];
        for (int o = from; o < to; o++)
        {
            double centre = map.Inverse(o + 0.5);
            if (!(centre >= 0 && centre < source)) { taps[o - from] = new Tap(0, 0, 0, -1); continue; }
            int nearest = Math.Min((int)centre, source - 1);
            double pos = Math.Clamp(centre - 0.5, 0, source - 1);
            int lo = (int)pos;
            int hi = Math.Min(lo + 1, source - 1);
            taps[o - from] = new Tap(lo, hi, (float)(pos - lo), nearest);
        }
        return taps;
    }

    static void DrawImage(DetectionSample s, byte[] image, int width, Tap[] cols, Tap[] rows, int left, int top)
    {
        var src = s.Image;
        int w = s.Width;
        for (int j = 0; j < rows.Length; j++)
        {
            var r = rows[j];
            if (r.Nearest < 0) continue;
            int row0 = r.Lo * w, row1 = r.Hi * w;
            float wy = r.Weight;
            int outRow = (top + j) * width + left;
            for (int i = 0; i < cols.Length; i++)
            {
                var c = cols[i];
                if (c.Nearest < 0) continue;
                int p00 = (row0 + c.Lo) * 3, p01 = (row0 + c.Hi) * 3, p10 = (row1 + c.Lo) * 3, p11 = (row1 + c.Hi) * 3;
                float wx = c.Weight;
                int o = (outRow + i) * 3;
                for (int ch = 0; ch < 3; ch++)
                {
                    float upper = src[p00 + ch] + (src[p01 + ch] - src[p00 + ch]) * wx;
                    float lower = src[p10 + ch] + (src[p11 + ch] - src[p10 + ch]) * wx;
                    image[o + ch] = (byte)(upper + (lower - upper) * wy + 0.5f);
                }
            }
        }
    }

    static void DrawMask(byte[] mask, int sourceWidth, byte[] plane, int width, Tap[] cols, Tap[] rows, int left, int top)
    {
        for (int j = 0; j < rows.Length; j++)
        {
            if (rows[j].Nearest < 0) continue;
            int srcRow = rows[j].Nearest * sourceWidth, outRow = (top + j) * width + left;
            for (int i = 0; i < cols.Length; i++)
                if (cols[i].Nearest >= 0 && mask[srcRow + cols[i].Nearest] != 0)
                    plane[outRow + i] = 1;
        }
    }
}
