using PixelBox.Boxes;
using static PixelBox.Tests.Boxes.BoxReference;
using static TorchSharp.torch;

namespace PixelBox.Tests.Boxes;

/// <summary>Matcher, SSDMatcher and hard negative mining against torchvision; the task-aligned assigner against a transcription of ultralytics'.</summary>
public class AssignmentTests
{
    [PythonTorchFact]
    public void MatchersMatchTorchvision()
    {
        using var scope = NewDisposeScope();
        var cases = Section("matcher");
        Assert.Equal(2, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var q = FloatTensor(c.GetProperty("quality"));
            Assert.Equal(Longs(c.GetProperty("rpn")), new Matcher(0.7, 0.3, allowLowQualityMatches: true).Match(q).data<long>().ToArray());
            Assert.Equal(Longs(c.GetProperty("head")), new Matcher(0.5, 0.5).Match(q).data<long>().ToArray());
            Assert.Equal(Longs(c.GetProperty("retina")), new Matcher(0.5, 0.4, allowLowQualityMatches: true).Match(q).data<long>().ToArray());
            Assert.Equal(Longs(c.GetProperty("ssd")), new SsdMatcher(0.5).Match(q).data<long>().ToArray());
        }
    }

    [Fact]
    public void MatcherBandsAndBestPriorRule()
    {
        using var scope = NewDisposeScope();
        // 2 ground truths x 5 anchors
        var q = tensor(new float[] { 0.9f, 0.5f, 0.2f, 0.1f, 0.0f, 0.1f, 0.6f, 0.35f, 0.25f, 0.0f }, [2, 5]);
        Assert.Equal([0L, -2, -2, -1, -1], new Matcher(0.7, 0.3).Match(q).data<long>().ToArray());
        // low-quality: ground truth 1's best anchor (1, IoU 0.6) keeps its match
        Assert.Equal([0L, 1, -2, -1, -1], new Matcher(0.7, 0.3, true).Match(q).data<long>().ToArray());
        // SSD: threshold 0.5, then each ground truth's best anchor
        Assert.Equal([0L, 1, -1, -1, -1], new SsdMatcher(0.5).Match(q).data<long>().ToArray());
        Assert.Equal([0L, 1, -1, -1, -1], new SsdMatcher(0.65).Match(q).data<long>().ToArray());
        Assert.Throws<ArgumentException>(() => new Matcher(0.3, 0.7));
        Assert.Throws<ArgumentException>(() => new Matcher(0.7, 0.3).Match(zeros(0, 5)));
    }

    [PythonTorchFact]
    public void HardNegativeMiningMatchesTorchvisionSsd()
    {
        using var scope = NewDisposeScope();
        foreach (var c in Section("hard_negatives").EnumerateArray())
        {
            var loss = FloatTensor(c.GetProperty("cls_loss"));
            var fg = tensor(Longs(c.GetProperty("foreground")).Select(v => v != 0).ToArray(), loss.shape);
            var background = HardNegativeMining.Select(loss, fg);
            Assert.Equal(Longs(c.GetProperty("background")), background.to_type(ScalarType.Int64).data<long>().ToArray());
            double want = c.GetProperty("classification").GetDouble();
            Assert.Equal(want, HardNegativeMining.ClassificationLoss(loss, fg).item<float>(), 1e-4 * Math.Max(1, want));
        }
    }

    [Fact]
    public void HardNegativesAreTheThreeTimesHardestNegatives()
    {
        using var scope = NewDisposeScope();
        var loss = tensor(new float[] { 0.1f, 5, 0.3f, 0.2f, 4, 0.9f, 0.8f, 0.05f }, [1, 8]);
        var fg = tensor(new[] { false, true, false, false, false, false, false, false }, [1, 8]);
        // one positive -> the 3 negatives with the highest loss: 4, 0.9, 0.8
        Assert.Equal([false, false, false, false, true, true, true, false], HardNegativeMining.Select(loss, fg).data<bool>().ToArray());
    }

    [PythonTorchFact]
    public void TaskAlignedAssignerMatchesUltralyticsTranscription()
    {
        using var scope = NewDisposeScope();
        var c = Section("tal");
        var assigner = new TaskAlignedAssigner(numClasses: 4);
        Assert.Equal((10, 0.5, 6.0), (assigner.TopK, assigner.Alpha, assigner.Beta));
        var anchors = FloatTensor(c.GetProperty("anchor_points"));
        var predicted = FloatTensor(c.GetProperty("pd_bboxes"));
        var gt = FloatTensor(c.GetProperty("gt_bboxes"));
        var r = assigner.Assign(FloatTensor(c.GetProperty("pd_scores")), predicted, anchors,
            tensor(Longs(c.GetProperty("gt_labels")), [2, 3, 1]), gt, FloatTensor(c.GetProperty("mask_gt")));
        Assert.Equal(Longs(c.GetProperty("fg_mask")), r.Foreground.to_type(ScalarType.Int64).data<long>().ToArray());
        Assert.Equal(Longs(c.GetProperty("target_gt_idx")), r.GroundTruthIndex.data<long>().ToArray());
        Assert.Equal(Longs(c.GetProperty("target_labels")), r.Labels.data<long>().ToArray());
        Assert.Equal(Floats(c.GetProperty("target_bboxes")), Values(r.Boxes));
        AssertClose(Floats(c.GetProperty("target_scores")), Values(r.Scores), "target scores", rtol: 1e-4, atol: 1e-6);
        var na = anchors.shape[0];
        var ciou = TaskAlignedAssigner.CompleteIou(gt[0].narrow(0, 0, 1).expand(na, 4), predicted[0]);
        AssertClose(Floats(c.GetProperty("ciou_gt0_vs_all_image0")), Values(ciou), "ultralytics CIoU", rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void TaskAlignedAssignerBasicProperties()
    {
        using var scope = NewDisposeScope();
        // a 4x4 grid of points (stride 8), one ground truth covering the top-left quarter, perfect predictions there
        var (points, strides) = PointGrid.Generate([new GridSize(4, 4)], [8]);
        var anchors = points * strides;
        var gt = tensor(new float[] { 0, 0, 16, 16 }, [1, 1, 4]);
        var predicted = gt.expand(1, 16, 4).clone();
        var scores = full(1, 16, 2, 0.5f);
        var r = new TaskAlignedAssigner(numClasses: 2).Assign(scores, predicted, anchors, tensor(new long[] { 1 }, [1, 1, 1]), gt, ones(1, 1, 1));
        var fg = r.Foreground.data<bool>().ToArray();
        // the four points inside (centres 4 and 12) are positives, nothing else
        Assert.Equal([0, 1, 4, 5], Enumerable.Range(0, 16).Where(i => fg[i]));
        Assert.All(Enumerable.Range(0, 16).Where(i => fg[i]), i => Assert.Equal(1L, r.Labels[0, i].item<long>()));
        // normalised alignment: the best positive's target equals its IoU (1)
        Assert.Equal(1f, r.Scores.max().item<float>(), 1e-4f);
        Assert.Equal(0f, r.Scores[0, 2].sum().item<float>());
        // no ground truth: everything background
        var none = new TaskAlignedAssigner(2).Assign(scores, predicted, anchors, zeros(1, 0, 1, ScalarType.Int64), zeros(1, 0, 4), zeros(1, 0, 1));
        Assert.False(none.Foreground.any().item<bool>());
        Assert.Equal(2L, none.Labels.max().item<long>());
    }
}
