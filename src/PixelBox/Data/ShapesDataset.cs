using System.Text.Json;
using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>One painted shape: its class label, polygon (flat x0,y0,x1,y1,... in pixels) and base colour.</summary>
public sealed record ShapeInstance(int Label, double[] Polygon, byte[] Colour);

/// <summary>
/// One synthetic image with its index mask and shapes in paint order (later shapes occlude earlier ones;
/// the mask holds the label of the topmost shape whose polygon contains the pixel centre, else 0).
/// </summary>
public sealed record ShapesScene(RgbImage Image, IndexMask Mask, IReadOnlyList<ShapeInstance> Shapes);

/// <summary>
/// A synthetic segmentation/detection dataset that is learnable but not trivial: smooth colour gradients,
/// waves, unlabelled clutter (thin lines, elongated ellipses) and noise in the background, and 2-6 shapes of
/// four classes with random colour (one distribution for every class, the background and the clutter, so
/// colour says nothing about the class), size, rotation and partial overlap. Everything is rasterised in
/// plain C# from float polygons, so masks match shape edges exactly and output is the same on every machine.
/// </summary>
public static class ShapesDataset
{
    public static readonly string[] ClassNames = ["background", "circle", "square", "triangle", "star"];

    /// <summary>A shape's circumscribed diameter is this fraction of the image side: at least a fifth, so that even at
    /// 64x64 a shape spans about 13 px and its form (not just a blob) decides its class.</summary>
    const double MinExtent = 0.20, MaxExtent = 0.45;
    /// <summary>A new shape may not hide more than half of an earlier one, so every instance stays recognisable.</summary>
    const double MinVisibleFraction = 0.5;
    const int MinShapes = 2, MaxShapes = 6, PlacementAttempts = 30;
    const int CircleVertices = 48;
    const double StarInnerRatio = 0.45;
    /// <summary>Minimum RGB distance between a shape's colour and the mean background under it.</summary>
    const double MinContrast = 80;
    public const int MinImageSize = 16;

    /// <summary>
    /// Writes <paramref name="count"/> images of size x size into <paramref name="outDir"/> (which must be new or
    /// empty): images/&lt;id&gt;.png (RGB), masks/&lt;id&gt;.png (palette index masks, VOC colours), classes.txt,
    /// train.txt / val.txt (ids one per line) and instances.json (COCO; see <see cref="WriteCoco"/>). Image
    /// number i (0-based) has id i+1, file stem id padded to 6 digits, and is <c>Render(size, seed, i)</c>, so
    /// the output depends only on (count, size, seed, valFraction). The folder is assembled beside
    /// <paramref name="outDir"/> and renamed into place at the end, so it never exists half-written.
    /// <paramref name="progress"/> receives the number of images written so far.
    /// </summary>
    public static void Generate(string outDir, int count, int size, int seed, double valFraction = 0.2,
                                IProgress<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, MinImageSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 8192);
        if (!(valFraction >= 0 && valFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(valFraction), valFraction, "must be in [0, 1)");

        var target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir));
        var kind = FileKinds.Of(target);
        if (kind is not (FileKind.Missing or FileKind.Directory))
            throw new InputException(outDir, $"is {FileKinds.Describe(kind)}; expected a new or empty folder");
        if (kind == FileKind.Directory && Directory.EnumerateFileSystemEntries(target).Any())
            throw new InputException(outDir, "already exists and is not empty; choose a new or empty folder");
        var parent = OutputPaths.CreateFolder(Path.GetDirectoryName(target)!);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target.TrimEnd(Path.DirectorySeparatorChar))}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(Path.Combine(staging, "images"));
            Directory.CreateDirectory(Path.Combine(staging, "masks"));
            var ids = Enumerable.Range(0, count).Select(i => (i + 1).ToString("D6")).ToArray();
            var shapes = new IReadOnlyList<ShapeInstance>[count];
            int done = 0;
            var gate = new object();
            Parallel.For(0, count, i =>
            {
                var scene = Render(size, seed, i);
                // Plain writes: the staging folder as a whole is what gets published atomically.
                File.WriteAllBytes(Path.Combine(staging, "images", ids[i] + ".png"), RgbImageFile.EncodePng(scene.Image));
                File.WriteAllBytes(Path.Combine(staging, "masks", ids[i] + ".png"), IndexMaskPng.Encode(scene.Mask, IndexMaskPng.VocPalette));
                shapes[i] = scene.Shapes;
                lock (gate) progress?.Report(++done);
            });

            var (train, val) = Split(ids, seed, valFraction);
            File.WriteAllText(Path.Combine(staging, "classes.txt"), string.Join('\n', ClassNames) + "\n");
            File.WriteAllText(Path.Combine(staging, "train.txt"), string.Concat(train.Select(id => id + "\n")));
            File.WriteAllText(Path.Combine(staging, "val.txt"), string.Concat(val.Select(id => id + "\n")));
            using (var json = File.Create(Path.Combine(staging, "instances.json")))
                WriteCoco(json, ids, shapes, size, seed);

            if (Directory.Exists(target)) Directory.Delete(target); // empty, checked above
            Directory.Move(staging, target);
        }
        catch (Exception e)
        {
            try { if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true); } catch (IOException) { }
            if (OutputPaths.IsWriteFailure(e))
                throw OutputPaths.WriteFailure(outDir, e);
            throw;
        }
    }

    /// <summary>Val gets round(count * valFraction) images (at least one when the fraction is positive and count > 1), chosen by a seeded shuffle.</summary>
    static (string[] Train, string[] Val) Split(string[] ids, int seed, double valFraction)
    {
        int nVal = valFraction == 0 || ids.Length < 2 ? 0 : Math.Clamp((int)Math.Round(ids.Length * valFraction), 1, ids.Length - 1);
        var order = (string[])ids.Clone();
        new Random(Seeds.Mix(seed)).Shuffle(order);
        var val = order[..nVal].Order(StringComparer.Ordinal).ToArray();
        var train = order[nVal..].Order(StringComparer.Ordinal).ToArray();
        return (train, val);
    }

    /// <summary>
    /// COCO instances: one image entry per file (id = number, file_name relative to images/), categories 1-4
    /// (ids equal the mask labels), and one annotation per shape in paint order with iscrowd 0. The
    /// segmentation is the shape's full polygon (amodal: the part hidden by later shapes is included; the
    /// mask PNG has the visible part), exactly the vertices that were rasterised; bbox is that polygon's tight
    /// box and area its shoelace area, so all three describe the same region.
    /// </summary>
    static void WriteCoco(Stream stream, string[] ids, IReadOnlyList<ShapeInstance>[] shapes, int size, int seed)
    {
        using var w = new Utf8JsonWriter(stream);
        w.WriteStartObject();
        w.WriteStartObject("info");
        w.WriteString("description", $"PixelBox synthetic shapes, seed {seed}, {size}x{size}");
        w.WriteString("version", "1");
        w.WriteEndObject();
        w.WriteStartArray("licenses");
        w.WriteEndArray();
        w.WriteStartArray("images");
        for (int i = 0; i < ids.Length; i++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", i + 1);
            w.WriteString("file_name", ids[i] + ".png");
            w.WriteNumber("width", size);
            w.WriteNumber("height", size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("annotations");
        int annId = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            foreach (var s in shapes[i])
            {
                double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
                for (int k = 0; k < s.Polygon.Length; k += 2)
                {
                    minX = Math.Min(minX, s.Polygon[k]); maxX = Math.Max(maxX, s.Polygon[k]);
                    minY = Math.Min(minY, s.Polygon[k + 1]); maxY = Math.Max(maxY, s.Polygon[k + 1]);
                }
                w.WriteStartObject();
                w.WriteNumber("id", ++annId);
                w.WriteNumber("image_id", i + 1);
                w.WriteNumber("category_id", s.Label);
                w.WriteStartArray("segmentation");
                w.WriteStartArray();
                foreach (var v in s.Polygon) w.WriteNumberValue(v);
                w.WriteEndArray();
                w.WriteEndArray();
                w.WriteNumber("area", Hundredths(PolygonRaster.Area(s.Polygon)));
                w.WriteStartArray("bbox");
                w.WriteNumberValue(minX);
                w.WriteNumberValue(minY);
                w.WriteNumberValue(Hundredths(maxX - minX));
                w.WriteNumberValue(Hundredths(maxY - minY));
                w.WriteEndArray();
                w.WriteNumber("iscrowd", 0);
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteStartArray("categories");
        for (int c = 1; c < ClassNames.Length; c++)
        {
            w.WriteStartObject();
            w.WriteNumber("id", c);
            w.WriteString("name", ClassNames[c]);
            w.WriteString("supercategory", "shape");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// Renders image number <paramref name="index"/> of the dataset for <paramref name="seed"/>: a pure function
    /// of its arguments (its own seeded <see cref="Random"/>), so images can be made in any order or in parallel.
    /// </summary>
    public static ShapesScene Render(int size, int seed, int index)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, MinImageSize);
        var rng = new Random(Seeds.Mix(seed, index));
        int n = size * size;
        var background = RenderBackground(size, rng);

        var owner = new int[n]; // 0 = background, k + 1 = shape k
        var fullPixels = new List<int>();
        var visiblePixels = new List<int>();
        var shapes = new List<ShapeInstance>();
        var shading = new List<(double Cx, double Cy, double Dx, double Dy)>();
        int wanted = rng.Next(MinShapes, MaxShapes + 1);
        for (int k = 0; k < wanted; k++)
        {
            int label = rng.Next(1, ClassNames.Length);
            double[]? polygon = null;
            List<(int Y, int X0, int X1)>? spans = null;
            double r = 0, cx = 0, cy = 0;
            for (int attempt = 0; attempt < PlacementAttempts && polygon == null; attempt++)
            {
                r = size * (MinExtent + rng.NextDouble() * (MaxExtent - MinExtent)) / 2;
                cx = r + rng.NextDouble() * (size - 2 * r);
                cy = r + rng.NextDouble() * (size - 2 * r);
                double rotation = rng.NextDouble() * 2 * Math.PI;
                var candidate = ShapePolygon(label, cx, cy, r, rotation);
                var candidateSpans = PolygonRaster.Spans(candidate, size, size);
                if (KeepsEarlierShapesVisible(candidateSpans, owner, size, fullPixels, visiblePixels))
                    (polygon, spans) = (candidate, candidateSpans);
            }
            if (polygon == null || spans == null) continue;

            var colour = ContrastingColour(rng, spans, background, size);
            // A gentle linear shading across the shape (up to +-20 levels at its rim) so shapes are not flat.
            double amplitude = rng.NextDouble() * 20, angle = rng.NextDouble() * 2 * Math.PI;
            shading.Add((cx, cy, amplitude * Math.Cos(angle) / r, amplitude * Math.Sin(angle) / r));
            int id = shapes.Count + 1, total = 0;
            foreach (var (y, x0, x1) in spans)
                for (int x = x0; x < x1; x++)
                {
                    int p = y * size + x;
                    if (owner[p] != 0) visiblePixels[owner[p] - 1]--;
                    owner[p] = id;
                    total++;
                }
            fullPixels.Add(total);
            visiblePixels.Add(total);
            shapes.Add(new ShapeInstance(label, polygon, colour));
        }

        // Compose: shapes over the background, then per-pixel noise over everything.
        double noise = 4 + rng.NextDouble() * 12;
        var rgb = new byte[n * 3];
        var mask = new byte[n];
        for (int y = 0, p = 0; y < size; y++)
            for (int x = 0; x < size; x++, p++)
            {
                int o = owner[p];
                for (int c = 0; c < 3; c++)
                {
                    double v;
                    if (o == 0) v = background[3 * p + c];
                    else
                    {
                        var (scx, scy, dx, dy) = shading[o - 1];
                        v = shapes[o - 1].Colour[c] + (x + 0.5 - scx) * dx + (y + 0.5 - scy) * dy;
                    }
                    v += (rng.NextDouble() * 2 - 1) * noise;
                    rgb[3 * p + c] = (byte)Math.Clamp(Math.Round(v), 0, 255);
                }
                mask[p] = o == 0 ? (byte)0 : (byte)shapes[o - 1].Label;
            }
        return new ShapesScene(new RgbImage(size, size, rgb), new IndexMask(size, size, mask), shapes);
    }

    static bool KeepsEarlierShapesVisible(List<(int Y, int X0, int X1)> spans, int[] owner, int size,
                                          List<int> fullPixels, List<int> visiblePixels)
    {
        if (fullPixels.Count == 0) return true;
        var hidden = new int[fullPixels.Count];
        foreach (var (y, x0, x1) in spans)
            for (int x = x0; x < x1; x++)
            {
                int o = owner[y * size + x];
                if (o != 0) hidden[o - 1]++;
            }
        for (int j = 0; j < hidden.Length; j++)
            if (visiblePixels[j] - hidden[j] < MinVisibleFraction * fullPixels[j]) return false;
        return true;
    }

    /// <summary>Smooth gradient between four random corner colours, two random waves, then unlabelled clutter.</summary>
    static double[] RenderBackground(int size, Random rng)
    {
        var corners = new double[4][];
        for (int i = 0; i < 4; i++) corners[i] = RandomColour(rng).Select(b => (double)b).ToArray();
        var waves = new (double Kx, double Ky, double Phase, double[] Gain)[2];
        for (int i = 0; i < waves.Length; i++)
        {
            double wavelength = size * (0.15 + rng.NextDouble() * 0.35), dir = rng.NextDouble() * Math.PI;
            double amplitude = rng.NextDouble() * 24;
            waves[i] = (2 * Math.PI * Math.Cos(dir) / wavelength, 2 * Math.PI * Math.Sin(dir) / wavelength,
                        rng.NextDouble() * 2 * Math.PI,
                        [amplitude * (rng.NextDouble() * 2 - 1), amplitude * (rng.NextDouble() * 2 - 1), amplitude * (rng.NextDouble() * 2 - 1)]);
        }
        var bg = new double[size * size * 3];
        for (int y = 0, p = 0; y < size; y++)
        {
            double v = (y + 0.5) / size;
            for (int x = 0; x < size; x++, p++)
            {
                double u = (x + 0.5) / size;
                double w00 = (1 - u) * (1 - v), w10 = u * (1 - v), w01 = (1 - u) * v, w11 = u * v;
                double s0 = Math.Sin(waves[0].Kx * x + waves[0].Ky * y + waves[0].Phase);
                double s1 = Math.Sin(waves[1].Kx * x + waves[1].Ky * y + waves[1].Phase);
                for (int c = 0; c < 3; c++)
                    bg[3 * p + c] = w00 * corners[0][c] + w10 * corners[1][c] + w01 * corners[2][c] + w11 * corners[3][c]
                                    + s0 * waves[0].Gain[c] + s1 * waves[1].Gain[c];
            }
        }

        // Clutter in the shapes' colour distribution but never labelled: shapes must be told apart by form.
        int clutter = rng.Next(3, 9);
        for (int i = 0; i < clutter; i++)
        {
            double cx = rng.NextDouble() * size, cy = rng.NextDouble() * size, angle = rng.NextDouble() * Math.PI;
            double[] polygon;
            if (rng.Next(2) == 0)
            {
                double halfLength = size * (0.1 + rng.NextDouble() * 0.25), halfWidth = 0.5 + rng.NextDouble() * 0.9;
                polygon = Quantise(RotatedRectangle(cx, cy, halfLength, halfWidth, angle));
            }
            else
            {
                double a = size * (0.04 + rng.NextDouble() * 0.11), b = a / (3 + rng.NextDouble() * 3);
                polygon = Quantise(Ellipse(cx, cy, a, b, angle, 24));
            }
            var colour = RandomColour(rng);
            foreach (var (y, x0, x1) in PolygonRaster.Spans(polygon, size, size))
                for (int x = x0; x < x1; x++)
                    for (int c = 0; c < 3; c++)
                        bg[3 * (y * size + x) + c] = colour[c];
        }
        return bg;
    }

    /// <summary>Uniform RGB: the one colour distribution used for shapes of every class, backgrounds and clutter.</summary>
    static byte[] RandomColour(Random rng) => [(byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)];

    /// <summary>A random colour far enough from the background under the shape to be visible (best of a few draws).</summary>
    static byte[] ContrastingColour(Random rng, List<(int Y, int X0, int X1)> spans, double[] background, int size)
    {
        double r = 0, g = 0, b = 0;
        int count = 0;
        foreach (var (y, x0, x1) in spans)
            for (int x = x0; x < x1; x++)
            {
                int p = 3 * (y * size + x);
                r += background[p]; g += background[p + 1]; b += background[p + 2];
                count++;
            }
        if (count > 0) { r /= count; g /= count; b /= count; }
        byte[] best = RandomColour(rng);
        double bestDistance = Distance(best);
        for (int attempt = 0; attempt < 20 && bestDistance < MinContrast; attempt++)
        {
            var candidate = RandomColour(rng);
            double d = Distance(candidate);
            if (d > bestDistance) (best, bestDistance) = (candidate, d);
        }
        return best;

        double Distance(byte[] c) => Math.Sqrt((c[0] - r) * (c[0] - r) + (c[1] - g) * (c[1] - g) + (c[2] - b) * (c[2] - b));
    }

    /// <summary>The polygon of a shape of circumradius <paramref name="r"/>, vertices rounded to 1/100 pixel (as written to COCO).</summary>
    static double[] ShapePolygon(int label, double cx, double cy, double r, double rotation) => Quantise(ClassNames[label] switch
    {
        "circle" => Ellipse(cx, cy, r, r, rotation, CircleVertices),
        "square" => RegularPolygon(cx, cy, r, rotation, 4, 1),
        "triangle" => RegularPolygon(cx, cy, r, rotation, 3, 1),
        "star" => RegularPolygon(cx, cy, r, rotation, 5, StarInnerRatio),
        _ => throw new ArgumentOutOfRangeException(nameof(label)),
    });

    /// <summary><paramref name="points"/> outer vertices; with innerRatio &lt; 1 an inner vertex between each pair (a star).</summary>
    static double[] RegularPolygon(double cx, double cy, double r, double rotation, int points, double innerRatio)
    {
        int steps = innerRatio < 1 ? 2 * points : points;
        var xy = new double[2 * steps];
        for (int i = 0; i < steps; i++)
        {
            double radius = innerRatio < 1 && i % 2 == 1 ? r * innerRatio : r;
            double a = rotation + 2 * Math.PI * i / steps;
            xy[2 * i] = cx + radius * Math.Cos(a);
            xy[2 * i + 1] = cy + radius * Math.Sin(a);
        }
        return xy;
    }

    static double[] Ellipse(double cx, double cy, double a, double b, double rotation, int vertices)
    {
        double cr = Math.Cos(rotation), sr = Math.Sin(rotation);
        var xy = new double[2 * vertices];
        for (int i = 0; i < vertices; i++)
        {
            double t = 2 * Math.PI * i / vertices, ex = a * Math.Cos(t), ey = b * Math.Sin(t);
            xy[2 * i] = cx + ex * cr - ey * sr;
            xy[2 * i + 1] = cy + ex * sr + ey * cr;
        }
        return xy;
    }

    static double[] RotatedRectangle(double cx, double cy, double halfLength, double halfWidth, double angle)
    {
        double ux = Math.Cos(angle), uy = Math.Sin(angle), vx = -uy, vy = ux;
        return
        [
            cx - halfLength * ux - halfWidth * vx, cy - halfLength * uy - halfWidth * vy,
            cx + halfLength * ux - halfWidth * vx, cy + halfLength * uy - halfWidth * vy,
            cx + halfLength * ux + halfWidth * vx, cy + halfLength * uy + halfWidth * vy,
            cx - halfLength * ux + halfWidth * vx, cy - halfLength * uy + halfWidth * vy,
        ];
    }

    /// <summary>
    /// Rounds to 1/100 pixel: the polygon written to JSON is then exactly the one rasterised, and tiny
    /// last-bit differences between platforms' sin/cos almost never reach the pixels.
    /// </summary>
    static double[] Quantise(double[] xy)
    {
        for (int i = 0; i < xy.Length; i++) xy[i] = Hundredths(xy[i]);
        return xy;
    }

    static double Hundredths(double v) => Math.Round(v * 100) / 100 + 0.0; // + 0.0 turns -0 into 0
}
