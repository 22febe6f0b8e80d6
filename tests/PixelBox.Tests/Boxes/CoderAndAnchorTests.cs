using System.Text.Json;
using PixelBox.Boxes;
using static PixelBox.Tests.Boxes.BoxReference;
using static TorchSharp.torch;

namespace PixelBox.Tests.Boxes;

/// <summary>BoxCoder, AnchorGenerator, DefaultBoxGenerator and the point grid against torchvision / YOLOv8's definitions.</summary>
public class CoderAndAnchorTests
{
    [PythonTorchFact]
    public void BoxCoderEncodesAndDecodesAsTorchvision()
    {
        using var scope = NewDisposeScope();
        var cases = Section("coder");
        Assert.Equal(3, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var w = Floats(c.GetProperty("weights"));
            var coder = new BoxCoder(w[0], w[1], w[2], w[3]);
            var anchors = FloatTensor(c.GetProperty("anchors"));
            var encoded = coder.Encode(FloatTensor(c.GetProperty("gt")), anchors);
            AssertClose(Floats(c.GetProperty("encoded")), Values(encoded), $"encode {string.Join(",", w)}", rtol: 1e-5, atol: 1e-5);
            var decoded = coder.Decode(FloatTensor(c.GetProperty("codes")), anchors);
            Assert.Equal([25L, 8], decoded.shape);
            AssertClose(Floats(c.GetProperty("decoded")), Values(decoded), $"decode {string.Join(",", w)}", rtol: 1e-5, atol: 1e-4);
        }
    }

    [Fact]
    public void DecodeInvertsEncode()
    {
        using var scope = NewDisposeScope();
        var anchors = tensor(new float[] { 0, 0, 10, 10, 5, 5, 25, 45, 100, 80, 140, 200 }, [3, 4]);
        var gt = tensor(new float[] { 1, 2, 12, 9, 0, 0, 30, 30, 90, 85, 150, 190 }, [3, 4]);
        var coder = BoxCoder.Ssd();
        Assert.Equal((10.0, 10.0, 5.0, 5.0), (coder.Wx, coder.Wy, coder.Ww, coder.Wh));
        AssertClose(Values(gt), Values(coder.Decode(coder.Encode(gt, anchors), anchors)), "round trip", rtol: 1e-5, atol: 1e-4);
    }

    [PythonTorchFact]
    public void AnchorGeneratorMatchesTorchvision()
    {
        using var scope = NewDisposeScope();
        foreach (var c in Section("anchors").EnumerateArray())
        {
            var sizes = c.GetProperty("sizes").EnumerateArray().Select(s => (IReadOnlyList<double>)Floats(s).Select(v => (double)v).ToList()).ToList();
            var ratios = c.GetProperty("aspect_ratios").EnumerateArray().Select(s => (IReadOnlyList<double>)Floats(s).Select(v => (double)v).ToList()).ToList();
            var gen = new AnchorGenerator(sizes, ratios);
            var image = Longs(c.GetProperty("image"));
            var maps = c.GetProperty("feature_maps").EnumerateArray().Select(f => new GridSize(f[0].GetInt64(), f[1].GetInt64())).ToList();
            var anchors = gen.Generate(image[0], image[1], maps);
            Assert.Equal(Shape(c.GetProperty("anchors")), anchors.shape);
            Assert.Equal(Floats(c.GetProperty("anchors")), Values(anchors));
            Assert.Equal(sizes.Select((s, k) => s.Count * ratios[k].Count), gen.NumAnchorsPerLocation());
        }
    }

    [Fact]
    public void Ssd300HasTheStandard8732DefaultBoxes()
    {
        using var scope = NewDisposeScope();
        var gen = DefaultBoxGenerator.Ssd300();
        var maps = new[] { 38, 19, 10, 5, 3, 1 }.Select(f => new GridSize(f, f)).ToList();
        var boxes = gen.Generate(300, 300, maps);
        Assert.Equal([8732L, 4], boxes.shape);
        Assert.Equal([4, 6, 6, 6, 4, 4], gen.NumAnchorsPerLocation());
        // the first default box: centre (0.5/37.5, 0.5/37.5) of 300 px, side 0.07 * 300 = 21 px
        var first = Values(boxes[0]);
        AssertClose([4 - 10.5f, 4 - 10.5f, 4 + 10.5f, 4 + 10.5f], first, "first box", rtol: 1e-5, atol: 1e-4);
    }

    [PythonTorchFact]
    public void DefaultBoxGeneratorMatchesTorchvision()
    {
        using var scope = NewDisposeScope();
        var cases = Section("default_boxes");
        Assert.Equal(3, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var config = c.GetProperty("config");
            var ratios = config.GetProperty("aspect_ratios").EnumerateArray().Select(s => (IReadOnlyList<double>)Floats(s).Select(v => (double)v).ToList()).ToList();
            double? Get(string key) => config.TryGetProperty(key, out var v) ? v.GetDouble() : null;
            var gen = new DefaultBoxGenerator(ratios,
                minRatio: Get("min_ratio") ?? 0.15, maxRatio: Get("max_ratio") ?? 0.9,
                scales: config.TryGetProperty("scales", out var s) ? s.EnumerateArray().Select(v => v.GetDouble()).ToList() : null,
                steps: config.TryGetProperty("steps", out var st) ? st.EnumerateArray().Select(v => v.GetInt32()).ToList() : null,
                clip: !config.TryGetProperty("clip", out var clip) || clip.GetBoolean());
            Assert.Equal(c.GetProperty("scales").EnumerateArray().Select(v => v.GetDouble()), gen.Scales);
            var image = Longs(c.GetProperty("image"));
            var maps = c.GetProperty("feature_maps").EnumerateArray().Select(f => new GridSize(f[0].GetInt64(), f[1].GetInt64())).ToList();
            var boxes = gen.Generate(image[0], image[1], maps);
            Assert.Equal(c.GetProperty("count").GetInt64(), boxes.shape[0]);
            AssertClose(Floats(c.GetProperty("boxes")), Values(boxes), c.GetProperty("name").GetString()!, rtol: 1e-6, atol: 1e-5);
        }
    }

    [Fact]
    public void PointGridIsYolov8MakeAnchors()
    {
        using var scope = NewDisposeScope();
        var (points, strides) = PointGrid.Generate([new GridSize(2, 3), new GridSize(1, 1)], [8, 16]);
        Assert.Equal([0.5f, 0.5f, 1.5f, 0.5f, 2.5f, 0.5f, 0.5f, 1.5f, 1.5f, 1.5f, 2.5f, 1.5f, 0.5f, 0.5f], Values(points));
        Assert.Equal([8f, 8, 8, 8, 8, 8, 16], Values(strides));
    }

    [Fact]
    public void DistanceCoderRoundTripsAndClamps()
    {
        using var scope = NewDisposeScope();
        var points = tensor(new float[] { 5, 5, 20, 10 }, [2, 2]);
        var boxes = tensor(new float[] { 1, 2, 9, 12, 18, 0, 40, 11 }, [2, 4]);
        var d = DistanceCoder.Encode(points, boxes, regMax: 16);
        Assert.Equal([4f, 3, 4, 7, 2, 10, 15.99f, 1], Values(d));
        var back = DistanceCoder.Decode(DistanceCoder.Encode(points, boxes, regMax: 64), points);
        Assert.Equal(Values(boxes), Values(back));
        Assert.Equal([5f, 7, 8, 10], Values(DistanceCoder.Decode(DistanceCoder.Encode(points, boxes, 64), points, cxcywh: true))[..4]);
    }
}
