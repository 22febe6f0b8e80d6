using System.Text.Json;
using PixelBox.Boxes;
using static PixelBox.Tests.Boxes.BoxReference;

namespace PixelBox.Tests.Boxes;

/// <summary>
/// Soft-NMS against a transcription of the authors' cpu_soft_nms (Reference/make_box_references.py) and hand-worked
/// cases; weighted boxes fusion against ensemble_boxes' own outputs (Reference/wbf_reference.json).
/// </summary>
public class SoftNmsAndWbfTests
{
    [PythonTorchFact]
    public void SoftNmsMatchesTheReferenceImplementation()
    {
        var cases = Section("soft_nms");
        Assert.Equal(15, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var method = c.GetProperty("method").GetString() switch
            {
                "linear" => SoftNmsMethod.Linear,
                "gaussian" => SoftNmsMethod.Gaussian,
                _ => SoftNmsMethod.Hard,
            };
            var got = SoftNms.Run<float>(Floats(c.GetProperty("boxes")), Floats(c.GetProperty("scores")), method,
                c.GetProperty("nt").GetDouble(), c.GetProperty("sigma").GetDouble(), c.GetProperty("threshold").GetDouble());
            var want = c.GetProperty("survivors").EnumerateArray().Select(s => (Index: s[0].GetInt32(), Score: s[1].GetSingle())).ToArray();
            string name = c.GetProperty("name").GetString()!;
            Assert.True(want.Select(w => w.Index).SequenceEqual(got.Select(g => g.Index)), $"{name}: survivors differ");
            Assert.True(want.Select(w => w.Score).SequenceEqual(got.Select(g => g.Score)), $"{name}: scores differ");
        }
    }

    [Fact]
    public void SoftNmsDecaysByTheRules()
    {
        // box 1 overlaps box 0 with IoU 0.81 (9x9 / 10x10), box 2 is apart
        float[] boxes = [0, 0, 10, 10, 0, 0, 9, 9, 50, 50, 60, 60];
        float[] scores = [0.9f, 0.8f, 0.5f];
        var linear = SoftNms.Run<float>(boxes, scores, SoftNmsMethod.Linear, iouThreshold: 0.3);
        Assert.Equal([0, 2, 1], linear.Select(r => r.Index));
        Assert.Equal(0.8f * (1 - 0.81f), linear[2].Score, 1e-6f);
        var gaussian = SoftNms.Run<float>(boxes, scores, SoftNmsMethod.Gaussian, sigma: 0.5);
        Assert.Equal((float)(0.8 * Math.Exp(-0.81 * 0.81 / 0.5)), gaussian.Single(r => r.Index == 1).Score, 1e-6f);
        var hard = SoftNms.Run<float>(boxes, scores, SoftNmsMethod.Hard, iouThreshold: 0.5);
        Assert.Equal([0, 2], hard.Select(r => r.Index));
        // the Gaussian never drops below the threshold here, the linear one does with a higher threshold
        Assert.Equal(2, SoftNms.Run<float>(boxes, scores, SoftNmsMethod.Linear, 0.3, scoreThreshold: 0.2).Length);
    }

    static readonly Lazy<JsonElement> WbfFixture = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(ReferenceFile("wbf_reference.json"))).RootElement.Clone());

    [Fact]
    public void WeightedBoxesFusionMatchesEnsembleBoxes()
    {
        var cases = WbfFixture.Value.GetProperty("cases");
        Assert.Equal(48, cases.GetArrayLength());
        foreach (var c in cases.EnumerateArray())
        {
            var input = new List<WbfBox>();
            int model = 0;
            foreach (var m in c.GetProperty("models").EnumerateArray())
            {
                var boxes = m.GetProperty("boxes").EnumerateArray().ToArray();
                var scores = m.GetProperty("scores").EnumerateArray().ToArray();
                var labels = m.GetProperty("labels").EnumerateArray().ToArray();
                for (int i = 0; i < boxes.Length; i++)
                    input.Add(new WbfBox(boxes[i][0].GetDouble(), boxes[i][1].GetDouble(), boxes[i][2].GetDouble(), boxes[i][3].GetDouble(),
                        scores[i].GetDouble(), labels[i].GetInt64(), model));
                model++;
            }
            var confidence = c.GetProperty("conf_type").GetString() switch
            {
                "max" => WbfConfidence.Max,
                "box_and_model_avg" => WbfConfidence.BoxAndModelAvg,
                "absent_model_aware_avg" => WbfConfidence.AbsentModelAwareAvg,
                _ => WbfConfidence.Avg,
            };
            var got = WeightedBoxesFusion.Fuse(input, c.GetProperty("weights").EnumerateArray().Select(w => w.GetDouble()).ToArray(),
                c.GetProperty("iou_thr").GetDouble(), c.GetProperty("skip_box_thr").GetDouble(), confidence);
            string name = c.GetProperty("name").GetString()!;
            var wantBoxes = c.GetProperty("boxes").EnumerateArray().ToArray();
            var wantScores = c.GetProperty("scores").EnumerateArray().Select(s => s.GetDouble()).ToArray();
            var wantLabels = c.GetProperty("labels").EnumerateArray().Select(s => (long)s.GetDouble()).ToArray();
            Assert.True(wantScores.Length == got.Length, $"{name}: {got.Length} fused boxes, ensemble_boxes {wantScores.Length}");
            for (int k = 0; k < got.Length; k++)
            {
                Assert.True(wantLabels[k] == got[k].Label, $"{name}[{k}]: label {got[k].Label}, want {wantLabels[k]}");
                Assert.True(Math.Abs(wantScores[k] - got[k].Score) <= 1e-12, $"{name}[{k}]: score {got[k].Score:R}, want {wantScores[k]:R}");
                double[] box = [got[k].X1, got[k].Y1, got[k].X2, got[k].Y2];
                for (int j = 0; j < 4; j++)
                    Assert.True(Math.Abs(wantBoxes[k][j].GetDouble() - box[j]) <= 1e-12, $"{name}[{k}][{j}]: {box[j]:R}, want {wantBoxes[k][j].GetDouble():R}");
            }
        }
    }

    [Fact]
    public void WbfAveragesByScoreAndRescalesByModels()
    {
        WbfBox[] boxes =
        [
            new(0, 0, 10, 10, 0.9, 1, 0),
            new(1, 1, 11, 11, 0.6, 1, 1),
            new(50, 50, 60, 60, 0.8, 1, 1),
        ];
        var fused = WeightedBoxesFusion.Fuse(boxes, [1.0, 1.0], iouThreshold: 0.5);
        Assert.Equal(2, fused.Length);
        // the pair: coordinates averaged with weights 0.9 and 0.6 (in float32), score mean 0.75 * min(2, 2) / 2
        Assert.Equal((float)((0.9 * 0 + 0.6 * 1) / 1.5), fused[0].X1, 6);
        Assert.Equal((double)(float)0.75, fused[0].Score, 12);
        Assert.Equal([0, 1], fused[0].Members);
        // a box only one of two models found: its score halved
        Assert.Equal(0.4, fused[1].Score, 12);
        Assert.Equal([2], fused[1].Members);
    }
}
