using System.Text.Json;
using PixelBox.Boxes;
using static PixelBox.Tests.Boxes.BoxReference;
using static TorchSharp.torch;

namespace PixelBox.Tests.Boxes;

/// <summary>
/// Nms against torchvision: the shared fixtures (../shared/fixtures/torchvision/ops), cases generated with Python
/// torchvision 0.14 (ties, degenerate and non-finite boxes, edge thresholds, up to 5,000 boxes, both batched_nms
/// code paths), and a plain transcription of torchvision's CPU kernel on random inputs that reach every code
/// path (the plain loop, the SIMD loop with compaction, the blocked one).
/// </summary>
public class NmsTests
{
    static readonly Lazy<JsonElement> SharedNms = new(() => Load("nms.json"));
    static readonly Lazy<JsonElement> SharedBatched = new(() => Load("batched_nms.json"));

    static JsonElement Load(string name) =>
        JsonDocument.Parse(File.ReadAllBytes(SharedFiles.Fixture("torchvision", "ops", name))).RootElement.Clone();

    public static TheoryData<string> SharedNmsCases() => Names(SharedNms.Value.GetProperty("cases"));

    public static TheoryData<string> SharedBatchedCases() => Names(SharedBatched.Value.GetProperty("cases"));

    static TheoryData<string> Names(JsonElement cases)
    {
        var data = new TheoryData<string>();
        foreach (var c in cases.EnumerateArray())
            data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    static JsonElement Case(JsonElement cases, string name) =>
        cases.EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Fact]
    public void SharedFixturesHaveTheExpectedCases()
    {
        Assert.Equal(15, SharedNms.Value.GetProperty("cases").GetArrayLength());
        Assert.Equal(4, SharedBatched.Value.GetProperty("cases").GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(SharedNmsCases))]
    public void KeepMatchesSharedTorchvisionFixture(string name)
    {
        var c = Case(SharedNms.Value.GetProperty("cases"), name);
        var keep = Nms.Keep(Floats(c.GetProperty("boxes")), Floats(c.GetProperty("scores")), c.GetProperty("iou_threshold").GetDouble());
        Assert.Equal(Ints(c.GetProperty("keep")), keep);
    }

    [Theory]
    [MemberData(nameof(SharedBatchedCases))]
    public void KeepBatchedMatchesSharedTorchvisionFixture(string name)
    {
        var c = Case(SharedBatched.Value.GetProperty("cases"), name);
        var boxes = Floats(c.GetProperty("boxes"));
        var scores = Floats(c.GetProperty("scores"));
        var classes = Longs(c.GetProperty("idxs"));
        double iou = c.GetProperty("iou_threshold").GetDouble();
        var want = Ints(c.GetProperty("keep"));
        Assert.Equal(want, Nms.KeepBatched(boxes, scores, classes, iou));
        // the fixture's generator checked that both torchvision code paths agree on these inputs
        Assert.Equal(want, Nms.KeepPerClass(boxes, scores, classes, iou));
    }

    [Fact]
    public void TensorOverloadsMatchSharedFixture()
    {
        using var scope = NewDisposeScope();
        foreach (var c in SharedBatched.Value.GetProperty("cases").EnumerateArray())
        {
            var boxes = FloatTensor(c.GetProperty("boxes"));
            var scores = FloatTensor(c.GetProperty("scores"));
            var classes = tensor(Longs(c.GetProperty("idxs")));
            var keep = BoxOps.BatchedNms(boxes, scores, classes, 0.5);
            Assert.Equal(ScalarType.Int64, keep.dtype);
            Assert.Equal(Longs(c.GetProperty("keep")), keep.data<long>().ToArray());
            // float64 boxes take the double kernel: on these inputs the same boxes survive
            var keep64 = BoxOps.Nms(boxes.to_type(ScalarType.Float64), scores.to_type(ScalarType.Float64), 0.5);
            Assert.Equal(Nms.Keep(Floats(c.GetProperty("boxes")).Select(v => (double)v).ToArray(),
                Floats(c.GetProperty("scores")).Select(v => (double)v).ToArray(), 0.5).Select(v => (long)v), keep64.data<long>().ToArray());
        }
    }

    public static TheoryData<string> PythonNmsCases() => PythonNames("nms");

    public static TheoryData<string> PythonBatchedCases() => PythonNames("batched_nms");

    // Names only: the reference file is made when a case first runs (or never, where Python is missing).
    static TheoryData<string> PythonNames(string section)
    {
        var data = new TheoryData<string>();
        var names = section == "nms"
            ? new[] { 10, 40, 200, 1500, 5000 }.SelectMany(n => new[] { 0.3, 0.5, 0.7 }.Select(t => $"random_{n}_iou{t}"))
                .Concat(["ties_30", "ties_300", "ties_3000", "all_equal"])
                .Concat(new[] { "0.0", "0.5", "1.0", "-0.1", "0.36" }.Select(t => $"degenerate_iou{t}"))
                .Concat(["clustered_100_iou0", "clustered_100_iou1", "clustered_100_iou_negative", "non_finite_60"])
            : ["clustered_20_2cls", "clustered_500_5cls", "uniform_1000_30cls", "uniform_1001_30cls", "clustered_3000_10cls",
               "uniform_4000_80cls", "negative_coords_big_ids_300", "ties_400_3cls"];
        foreach (var name in names)
            data.Add(name);
        return data;
    }

    [PythonTorchTheory]
    [MemberData(nameof(PythonNmsCases))]
    public void KeepMatchesPythonTorchvision(string name)
    {
        var c = Case(Section("nms"), name);
        var boxes = Floats(c.GetProperty("boxes"));
        var scores = Floats(c.GetProperty("scores"));
        double iou = c.GetProperty("iou_threshold").GetDouble();
        Assert.Equal(Ints(c.GetProperty("keep")), Nms.Keep(boxes, scores, iou));
    }

    [PythonTorchFact]
    public void PythonCasesAreAllListed()
    {
        Assert.Equal(((IEnumerable<object[]>)PythonNmsCases()).Count(), Section("nms").GetArrayLength());
        Assert.Equal(((IEnumerable<object[]>)PythonBatchedCases()).Count(), Section("batched_nms").GetArrayLength());
    }

    [PythonTorchTheory]
    [MemberData(nameof(PythonBatchedCases))]
    public void KeepBatchedMatchesPythonTorchvision(string name)
    {
        var c = Case(Section("batched_nms"), name);
        var scores = Floats(c.GetProperty("scores"));
        var keep = Nms.KeepBatched(Floats(c.GetProperty("boxes")), scores, Longs(c.GetProperty("idxs")),
            c.GetProperty("iou_threshold").GetDouble());
        var want = Ints(c.GetProperty("keep"));
        // Above 1,000 boxes torchvision's last step is an unstable sort: equal scores come in any order (ours: by index)
        if (scores.Length > 1000)
            want = IndexOrderWithinTies(want, scores);
        Assert.Equal(want, keep);
    }

    static int[] IndexOrderWithinTies(int[] keep, float[] scores)
    {
        var result = keep.ToArray();
        for (int start = 0; start < result.Length;)
        {
            int end = start + 1;
            while (end < result.Length && scores[result[end]] == scores[result[start]])
                end++;
            Array.Sort(result, start, end - start);
            start = end;
        }
        return result;
    }

    // ------------------------------------------------------------------------ against the kernel

    /// <summary>torchvision's nms_kernel.cpp as written (scalar, stable sort, std::max / std::min).</summary>
    static int[] ReferenceKernel(float[] boxes, float[] scores, double threshold)
    {
        int n = scores.Length;
        var order = Enumerable.Range(0, n).OrderBy(i => float.IsNaN(scores[i]) ? 0 : 1).ThenByDescending(i => float.IsNaN(scores[i]) ? 0 : scores[i]).ToArray();
        var areas = Enumerable.Range(0, n).Select(i => (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1])).ToArray();
        var suppressed = new bool[n];
        var keep = new List<int>();
        static float Max(float a, float b) => a < b ? b : a;
        static float Min(float a, float b) => b < a ? b : a;
        for (int oi = 0; oi < n; oi++)
        {
            int i = order[oi];
            if (suppressed[i])
                continue;
            keep.Add(i);
            for (int oj = oi + 1; oj < n; oj++)
            {
                int j = order[oj];
                if (suppressed[j])
                    continue;
                float w = Max(0, Min(boxes[4 * i + 2], boxes[4 * j + 2]) - Max(boxes[4 * i], boxes[4 * j]));
                float h = Max(0, Min(boxes[4 * i + 3], boxes[4 * j + 3]) - Max(boxes[4 * i + 1], boxes[4 * j + 1]));
                float inter = w * h;
                float ovr = inter / (areas[i] + areas[j] - inter);
                if (ovr > threshold)
                    suppressed[j] = true;
            }
        }
        return keep.ToArray();
    }

    static (float[] Boxes, float[] Scores, long[] Classes) RandomInput(Random random, int n, bool clustered, int levels)
    {
        var boxes = new float[4 * n];
        var scores = new float[n];
        var classes = new long[n];
        int objects = Math.Max(1, n / 30);
        var centres = Enumerable.Range(0, objects).Select(_ => (random.NextDouble() * 800, random.NextDouble() * 600, 10 + random.NextDouble() * 150)).ToArray();
        for (int i = 0; i < n; i++)
        {
            double cx, cy, w, h;
            if (clustered)
            {
                var (ox, oy, size) = centres[random.Next(objects)];
                (cx, cy) = (ox + (random.NextDouble() - 0.5) * 0.3 * size, oy + (random.NextDouble() - 0.5) * 0.3 * size);
                (w, h) = (size * (0.8 + 0.4 * random.NextDouble()), size * (0.8 + 0.4 * random.NextDouble()));
            }
            else
                (cx, cy, w, h) = (random.NextDouble() * 800, random.NextDouble() * 600, 2 + random.NextDouble() * 120, 2 + random.NextDouble() * 120);
            // coarse coordinates: IoUs exactly at a threshold happen
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) =
                ((float)Math.Round(cx - w / 2), (float)Math.Round(cy - h / 2), (float)Math.Round(cx + w / 2), (float)Math.Round(cy + h / 2));
            scores[i] = levels > 0 ? random.Next(levels) / (float)levels : (float)random.NextDouble();
            classes[i] = random.Next(5);
        }
        return (boxes, scores, classes);
    }

    [Theory]
    [InlineData(7, false, 0)]
    [InlineData(50, true, 0)]
    [InlineData(300, true, 4)]
    [InlineData(1000, false, 0)]
    [InlineData(2500, true, 0)]
    [InlineData(4000, false, 10)]
    [InlineData(6000, true, 3)]
    public void KeepEqualsTheKernelOnRandomBoxes(int n, bool clustered, int scoreLevels)
    {
        var random = new Random(n * 7 + scoreLevels);
        for (int round = 0; round < 3; round++)
        {
            var (boxes, scores, _) = RandomInput(random, n, clustered, scoreLevels);
            foreach (var threshold in new[] { 0.0, 0.3, 0.5, 0.7, 0.9 })
                Assert.Equal(ReferenceKernel(boxes, scores, threshold), Nms.Keep(boxes, scores, threshold));
        }
    }

    [Fact]
    public void KeepBatchedEqualsOneKernelRunPerClassOnRandomBoxes()
    {
        var random = new Random(5);
        foreach (var n in new[] { 40, 900, 1200, 3000 })
        {
            var (boxes, scores, classes) = RandomInput(random, n, clustered: true, levels: 0);
            var perClass = new List<int>();
            foreach (var c in classes.Distinct())
            {
                var members = Enumerable.Range(0, n).Where(i => classes[i] == c).ToArray();
                var sub = members.SelectMany(i => boxes.Skip(4 * i).Take(4)).ToArray();
                perClass.AddRange(ReferenceKernel(sub, members.Select(i => scores[i]).ToArray(), 0.5).Select(k => members[k]));
            }
            var want = perClass.OrderByDescending(i => scores[i]).ThenBy(i => i).ToArray();
            Assert.Equal(want, Nms.KeepPerClass(boxes, scores, classes, 0.5));
            if (n > 1000)
                Assert.Equal(want, Nms.KeepBatched(boxes, scores, classes, 0.5));
        }
    }

    [Fact]
    public void DoubleBoxesFollowTheSameRules()
    {
        var random = new Random(11);
        var (boxes, scores, _) = RandomInput(random, 3000, clustered: true, levels: 0);
        var keepFloat = Nms.Keep(boxes, scores, 0.5);
        // integer coordinates below 2^10: IoU = inter / union of integers under 2^21, and a float quotient is above
        // 0.5 exactly when the real one is (it differs from 0.5 by at least 2^-22, float resolves 2^-24 there)
        var keepDouble = Nms.Keep(boxes.Select(v => (double)v).ToArray(), scores.Select(v => (double)v).ToArray(), 0.5);
        Assert.Equal(keepFloat, keepDouble);
    }

    [Fact]
    public void EmptyAndMismatchedInputs()
    {
        Assert.Empty(Nms.Keep(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, 0.5));
        Assert.Empty(Nms.KeepBatched(ReadOnlySpan<float>.Empty, ReadOnlySpan<float>.Empty, ReadOnlySpan<long>.Empty, 0.5));
        Assert.Throws<ArgumentException>(() => Nms.Keep(new float[7], new float[2], 0.5));
        Assert.Throws<ArgumentException>(() => Nms.KeepBatched(new float[8], new float[2], new long[3], 0.5));
        Assert.Empty(ScoreOrder.Descending<float>([]));
    }

    [Fact]
    public void ScoreOrderIsStableDescendingWithNaNFirst()
    {
        float[] scores = [0.5f, float.NaN, 0.7f, float.NaN, -0f, 0f, float.PositiveInfinity, float.NegativeInfinity, 0.5f];
        // torch.sort(descending=True, stable=True) on the same values
        Assert.Equal([1, 3, 6, 2, 0, 8, 4, 5, 7], ScoreOrder.Descending<float>(scores));
        Assert.Equal([1, 3, 6, 2, 0, 8, 4, 5, 7], ScoreOrder.Descending<double>(scores.Select(v => (double)v).ToArray()));
    }
}
