using System.Text.Json;
using PixelBox.Masks;

namespace PixelBox.Tests.Masks;

/// <summary>
/// Every segmentation in the COCO reference fixtures: compressed strings (numpy-made by the fixture
/// generator), uncompressed crowd counts and polygons (against masks from cocoapi's own maskApi.c).
/// </summary>
public class RleFixtureTests
{
    public static TheoryData<string> SegmCases => ["segm", "segm_dt_bbox", "crowd"];

    sealed record Segmentation(string Source, int Height, int Width, JsonElement Annotation, JsonElement Value);

    /// <summary>Segmentations of gt.json (sized by their image) and dt.json of one fixture case.</summary>
    static List<Segmentation> Load(string fixtureCase)
    {
        var list = new List<Segmentation>();
        using (var gt = JsonDocument.Parse(File.ReadAllText(SharedFiles.Fixture("coco", fixtureCase, "gt.json"))))
        {
            var images = gt.RootElement.GetProperty("images").EnumerateArray()
                .ToDictionary(i => i.GetProperty("id").GetInt64(),
                    i => (H: i.GetProperty("height").GetInt32(), W: i.GetProperty("width").GetInt32()));
            foreach (var ann in gt.RootElement.GetProperty("annotations").EnumerateArray())
            {
                var (h, w) = images[ann.GetProperty("image_id").GetInt64()];
                list.Add(new($"gt annotation {ann.GetProperty("id")}", h, w, ann.Clone(), ann.GetProperty("segmentation").Clone()));
            }
        }
        using (var dt = JsonDocument.Parse(File.ReadAllText(SharedFiles.Fixture("coco", fixtureCase, "dt.json"))))
        {
            int index = 0;
            foreach (var det in dt.RootElement.EnumerateArray())
            {
                if (det.TryGetProperty("segmentation", out var seg))
                {
                    var size = seg.GetProperty("size");
                    list.Add(new($"detection {index}", size[0].GetInt32(), size[1].GetInt32(), det.Clone(), seg.Clone()));
                }
                index++;
            }
        }
        return list;
    }

    static bool IsRle(JsonElement seg, JsonValueKind countsKind) =>
        seg.ValueKind == JsonValueKind.Object && seg.GetProperty("counts").ValueKind == countsKind;

    [Theory]
    [MemberData(nameof(SegmCases))]
    public void Compressed_strings_round_trip_byte_for_byte(string fixtureCase)
    {
        int seen = 0;
        foreach (var s in Load(fixtureCase).Where(s => IsRle(s.Value, JsonValueKind.String)))
        {
            var size = s.Value.GetProperty("size");
            Assert.Equal((s.Height, s.Width), (size[0].GetInt32(), size[1].GetInt32()));
            var text = s.Value.GetProperty("counts").GetString()!;
            var rle = RleCodec.FromCompressedString(text, s.Height, s.Width);
            Assert.Equal(text, RleCodec.ToCompressedString(rle));
            var again = RleCodec.Encode(RleCodec.Decode(rle), s.Height, s.Width);
            Assert.Equal(rle.Counts, again.Counts);
            seen++;
        }
        // crowd has no compressed strings; the segm cases have ~100 each.
        Assert.True(fixtureCase == "crowd" ? seen == 0 : seen > 90, $"{seen} compressed strings in {fixtureCase}");
    }

    [Theory]
    [InlineData("segm")]
    [InlineData("segm_dt_bbox")]
    public void Compressed_ground_truth_has_the_area_and_box_the_generator_measured(string fixtureCase)
    {
        // The generator stores int(mask.sum()) and the pixel extent of non-crowd compressed-RLE ground truth.
        var gts = Load(fixtureCase).Where(s => s.Source.StartsWith("gt") && IsRle(s.Value, JsonValueKind.String)).ToList();
        Assert.NotEmpty(gts);
        foreach (var s in gts)
        {
            var rle = RleCodec.FromCompressedString(s.Value.GetProperty("counts").GetString()!, s.Height, s.Width);
            Assert.Equal(s.Annotation.GetProperty("area").GetDouble(), RleOps.Area(rle));
            var box = s.Annotation.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(box, RleOps.ToBox(rle));
        }
    }

    [Theory]
    [MemberData(nameof(SegmCases))]
    public void Uncompressed_crowd_counts_survive_the_compressed_form(string fixtureCase)
    {
        int seen = 0;
        foreach (var s in Load(fixtureCase).Where(s => IsRle(s.Value, JsonValueKind.Array)))
        {
            var counts = s.Value.GetProperty("counts").EnumerateArray().Select(v => v.GetInt64()).ToList();
            var rle = RleCodec.FromUncompressed(counts, s.Height, s.Width);
            var text = RleCodec.ToCompressedString(rle);
            var back = RleCodec.FromCompressedString(text, s.Height, s.Width);
            Assert.Equal(counts, back.Counts.Select(c => (long)c));
            // The generator writes canonical runs, so re-encoding the pixels gives the same list.
            Assert.Equal(rle.Counts, RleCodec.Encode(RleCodec.Decode(rle), s.Height, s.Width).Counts);
            seen++;
        }
        Assert.True(seen >= 9, $"{seen} uncompressed RLEs in {fixtureCase}");
    }

    [Theory]
    [MemberData(nameof(SegmCases))]
    public void Polygons_rasterise_exactly_as_cocoapi(string fixtureCase)
    {
        int seen = 0;
        foreach (var s in Load(fixtureCase).Where(s => s.Value.ValueKind == JsonValueKind.Array))
        {
            var polygons = Polygons(s.Value);
            var rle = RleOps.FromPolygons(polygons, s.Height, s.Width);
            int id = s.Annotation.GetProperty("id").GetInt32();
            Assert.Equal(PolygonReference.Counts[(fixtureCase, id)], RleCodec.ToCompressedString(rle));
            seen++;
        }
        Assert.Equal(PolygonReference.Counts.Keys.Count(k => k.Case == fixtureCase), seen);
    }

    [Theory]
    [MemberData(nameof(SegmCases))]
    public void Single_polygon_area_is_within_a_perimeter_of_the_shoelace_area(string fixtureCase)
    {
        // Pixel-centre sampling can only err on pixels the outline passes through.
        foreach (var s in Load(fixtureCase).Where(s => s.Value.ValueKind == JsonValueKind.Array))
        {
            var polygons = Polygons(s.Value);
            if (polygons.Count != 1)
                continue;
            var p = polygons[0];
            double twiceArea = 0, perimeter = 0;
            for (int i = 0; i < p.Length / 2; i++)
            {
                int j = (i + 1) % (p.Length / 2);
                twiceArea += p[2 * i] * p[2 * j + 1] - p[2 * j] * p[2 * i + 1];
                perimeter += Math.Sqrt(Math.Pow(p[2 * j] - p[2 * i], 2) + Math.Pow(p[2 * j + 1] - p[2 * i + 1], 2));
            }
            long area = RleOps.Area(RleOps.FromPolygons(polygons, s.Height, s.Width));
            Assert.InRange(area, Math.Abs(twiceArea) / 2 - perimeter - 1, Math.Abs(twiceArea) / 2 + perimeter + 1);
        }
    }

    static List<double[]> Polygons(JsonElement segmentation) =>
        segmentation.EnumerateArray().Select(p => p.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
}
