using System.Text.Json;
using PixelBox.Boxes;
using TorchSharp;
using static PixelBox.Tests.Boxes.BoxReference;
using static TorchSharp.torch;

namespace PixelBox.Tests.Boxes;

/// <summary>The IoU family, box losses and box utilities against torchvision (shared fixture and Python torchvision 0.14).</summary>
public class BoxIouTests
{
    [Fact]
    public void PairwiseIouMatchesSharedFixture()
    {
        using var scope = NewDisposeScope();
        var doc = JsonDocument.Parse(File.ReadAllBytes(SharedFiles.Fixture("torchvision", "ops", "box_iou.json")));
        var cases = doc.RootElement.GetProperty("cases");
        Assert.Equal(3, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var iou = BoxIou.Pairwise(FloatTensor(c.GetProperty("boxes1")), FloatTensor(c.GetProperty("boxes2")));
            Assert.Equal(Shape(c.GetProperty("iou")), iou.shape);
            AssertClose(Floats(c.GetProperty("iou")), Values(iou), c.GetProperty("name").GetString()!, rtol: 1e-6, atol: 0);
        }
    }

    [PythonTorchFact]
    public void PairwiseFamilyMatchesTorchvision()
    {
        using var scope = NewDisposeScope();
        foreach (var c in Section("iou").EnumerateArray())
        {
            var a = FloatTensor(c.GetProperty("boxes1"));
            var b = FloatTensor(c.GetProperty("boxes2"));
            string name = c.GetProperty("name").GetString()!;
            AssertClose(Floats(c.GetProperty("iou")), Values(BoxIou.Pairwise(a, b)), name + " iou");
            AssertClose(Floats(c.GetProperty("giou")), Values(BoxIou.GeneralizedPairwise(a, b)), name + " giou");
            AssertClose(Floats(c.GetProperty("diou")), Values(BoxIou.DistancePairwise(a, b)), name + " diou");
            AssertClose(Floats(c.GetProperty("ciou")), Values(BoxIou.CompletePairwise(a, b)), name + " ciou");
            AssertClose(Floats(c.GetProperty("diou_eps1e-3")), Values(BoxIou.DistancePairwise(a, b, 1e-3)), name + " diou eps");
            AssertClose(Floats(c.GetProperty("ciou_eps1e-3")), Values(BoxIou.CompletePairwise(a, b, 1e-3)), name + " ciou eps");
        }
    }

    [PythonTorchFact]
    public void LossesMatchTorchvisionForEveryReductionWithGradients()
    {
        using var scope = NewDisposeScope();
        var cases = Section("losses");
        Assert.Equal(6, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var kind = c.GetProperty("loss").GetString() switch
            {
                "giou" => IouKind.Generalized,
                "diou" => IouKind.Distance,
                _ => IouKind.Complete,
            };
            double eps = c.GetProperty("eps").GetDouble();
            string what = $"{kind} eps {eps}";
            var p = FloatTensor(c.GetProperty("boxes1"));
            var t = FloatTensor(c.GetProperty("boxes2"));
            AssertClose(Floats(c.GetProperty("none")), Values(BoxIouLoss.Compute(kind, p, t, nn.Reduction.None, eps)), what + " none");
            AssertClose(Floats(c.GetProperty("mean")), Values(BoxIouLoss.Compute(kind, p, t, nn.Reduction.Mean, eps)), what + " mean");
            AssertClose(Floats(c.GetProperty("sum")), Values(BoxIouLoss.Compute(kind, p, t, nn.Reduction.Sum, eps)), what + " sum");
            var x = p.clone().requires_grad_(true);
            BoxIouLoss.Compute(kind, x, t, nn.Reduction.Sum, eps).backward();
            AssertClose(Floats(c.GetProperty("grad_sum")), Values(x.grad!), what + " gradient", rtol: 1e-4, atol: 1e-6);
            var empty = BoxIouLoss.Compute(kind, zeros(0, 4), zeros(0, 4), nn.Reduction.Mean, eps);
            Assert.Equal(Floats(c.GetProperty("mean_of_empty")), Values(empty));
            // the aligned similarities are 1 - loss
            var similarity = kind switch
            {
                IouKind.Generalized => BoxIou.GeneralizedAligned(p, t, eps),
                IouKind.Distance => BoxIou.DistanceAligned(p, t, eps),
                _ => BoxIou.CompleteAligned(p, t, eps),
            };
            AssertClose(Floats(c.GetProperty("none")).Select(v => 1 - v).ToArray(), Values(similarity), what + " similarity", atol: 1e-6);
        }
    }

    [Fact]
    public void AlignedIouIsTheDiagonalOfThePairwiseMatrix()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 0, 0, 10, 10, 5, 5, 15, 25, 0, 0, 4, 4 }, [3, 4]);
        var b = tensor(new float[] { 0, 0, 10, 20, 6, 6, 14, 24, 10, 10, 20, 20 }, [3, 4]);
        AssertClose(Values(BoxIou.Pairwise(a, b).diagonal()), Values(BoxIou.Aligned(a, b, eps: 0)), "iou");
        AssertClose(Values(BoxIou.GeneralizedPairwise(a, b).diagonal()), Values(BoxIou.GeneralizedAligned(a, b, eps: 0)), "giou");
        // IoU loss: 1 - inter / (union + eps); boxes 0: IoU 100 / 200
        Assert.Equal(0.5f, Values(BoxIouLoss.Compute(IouKind.Iou, a, b, eps: 0))[0]);
    }

    [PythonTorchFact]
    public void OpsMatchTorchvision()
    {
        using var scope = NewDisposeScope();
        var c = Section("ops");
        var boxes = FloatTensor(c.GetProperty("boxes"));
        AssertClose(Floats(c.GetProperty("area")), Values(BoxOps.Area(boxes)), "area");
        AssertClose(Floats(c.GetProperty("clip_h300_w200")), Values(BoxOps.Clip(boxes, 300, 200)), "clip");
        Assert.Equal(Longs(c.GetProperty("remove_small_30")), BoxOps.RemoveSmall(boxes, 30).data<long>().ToArray());
        var formats = new Dictionary<string, BoxFormat> { ["xyxy"] = BoxFormat.Xyxy, ["xywh"] = BoxFormat.Xywh, ["cxcywh"] = BoxFormat.Cxcywh };
        foreach (var p in c.GetProperty("convert").EnumerateObject())
        {
            var parts = p.Name.Split('>');
            // the inputs are the same numbers read as each format, as torchvision's box_convert does
            var got = BoxOps.Convert(boxes, formats[parts[0]], formats[parts[1]]);
            Assert.Equal(Floats(p.Value), Values(got));
        }
    }

    [Fact]
    public void ConversionsRoundTrip()
    {
        using var scope = NewDisposeScope();
        var xyxy = tensor(new float[] { 1, 2, 11, 32, -5, -5, 5, 5 }, [2, 4]);
        foreach (var f in new[] { BoxFormat.Xywh, BoxFormat.Cxcywh })
            Assert.Equal(Values(xyxy), Values(BoxOps.Convert(BoxOps.Convert(xyxy, BoxFormat.Xyxy, f), f, BoxFormat.Xyxy)));
        Assert.Equal([1f, 2, 10, 30, -5, -5, 10, 10], Values(BoxOps.Convert(xyxy, BoxFormat.Xyxy, BoxFormat.Xywh)));
        Assert.Equal([6f, 17, 10, 30, 0, 0, 10, 10], Values(BoxOps.Convert(xyxy, BoxFormat.Xyxy, BoxFormat.Cxcywh)));
    }
}
