using PixelBox.Boxes;
using PixelBox.Models;
using PixelBox.Models.Detection.Yolo;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models.Detection;

/// <summary>Hand-made raw outputs with known boxes and scores through <see cref="YoloDecoder"/>.</summary>
public class YoloDecoderTests
{
    const int Bins = 16;

    static DetectionSettings Settings(double threshold = 0.25, double nmsIou = 0.5, int maxDetections = 100, int candidates = 100, bool agnostic = false) =>
        YoloV8.DefaultSettings(128) with
        {
            ScoreThreshold = threshold, NmsIou = nmsIou, MaxDetections = maxDetections, CandidatesPerClass = candidates, ClassAgnosticNms = agnostic,
        };

    /// <summary>A level [images, 4 * 16 + classes, height, width]: class logits -10 (score 4.5e-5), box logits 0.</summary>
    sealed class Level(int images, int classes, int height, int width)
    {
        public readonly float[] Values = Init(images * (4 * Bins + classes) * height * width, images, classes, height * width);
        readonly int cells = height * width;
        readonly int channels = 4 * Bins + classes;

        static float[] Init(int length, int images, int classes, int cells)
        {
            var v = new float[length];
            for (int n = 0; n < images; n++)
                for (int c = 0; c < classes; c++)
                    v.AsSpan(((n * (4 * Bins + classes)) + 4 * Bins + c) * cells, cells).Fill(-10f);
            return v;
        }

        public RawOutput Output => new(Values, [images, channels, height, width]);

        public void Score(int image, int row, int column, int label, double score) =>
            Values[((image * channels) + 4 * Bins + label) * cells + row * width + column] = (float)Math.Log(score / (1 - score));

        /// <summary>Each side's distribution: equal logits 30 on the given bins, -30 elsewhere (expectation = their mean).</summary>
        public void Sides(int image, int row, int column, int[] left, int[] top, int[] right, int[] bottom)
        {
            var sides = new[] { left, top, right, bottom };
            for (int s = 0; s < 4; s++)
                for (int b = 0; b < Bins; b++)
                    Values[((image * channels) + s * Bins + b) * cells + row * width + column] = sides[s].Contains(b) ? 30f : -30f;
        }
    }

    static IReadOnlyList<DetectedObject> Decode(int classes, DetectionSettings settings, int inputSide, params Level[] levels) =>
        new YoloDecoder(classes, Bins).Decode([.. levels.Select(l => l.Output)], new ImageSize(inputSide, inputSide), settings)[0].Detections;

    [Fact]
    public void BoxIsTheExpectedSideDistancesAroundTheCellCentreTimesTheStride()
    {
        var level = new Level(1, 1, 4, 4);                // 128 px input: stride 32
        level.Sides(0, 1, 2, left: [1, 2], top: [0], right: [3], bottom: [0, 1]);
        level.Score(0, 1, 2, 0, 0.9);
        var d = Assert.Single(Decode(1, Settings(), 128, level));
        // centre (2.5, 1.5) cells; distances 1.5, 0, 3 (clipped at 128), 0.5
        Assert.Equal((32f, 48f, 128f, 64f, 0), (d.X1, d.Y1, d.X2, d.Y2, d.Label));
        Assert.Equal(0.9f, d.Score, 5);
    }

    [Fact]
    public void ScoresAtOrBelowTheThresholdAreDropped()
    {
        var level = new Level(1, 1, 4, 4);
        level.Sides(0, 0, 0, left: [0], top: [0], right: [1], bottom: [1]);
        level.Sides(0, 3, 3, left: [0], top: [0], right: [1], bottom: [1]);
        level.Score(0, 0, 0, 0, 0.3);
        level.Score(0, 3, 3, 0, 0.2);
        Assert.Single(Decode(1, Settings(threshold: 0.25), 128, level));
        Assert.Equal(2, Decode(1, Settings(threshold: 0.1), 128, level).Count);
        Assert.Empty(Decode(1, Settings(threshold: 0.5), 128, level));
    }

    [Fact]
    public void NmsSuppressesWithinAClassUnlessAgnostic()
    {
        // two neighbouring cells predicting the same box (cell 1,1 and 1,2 with shifted distances)
        var level = new Level(1, 2, 4, 4);
        level.Sides(0, 1, 1, left: [1], top: [1], right: [2], bottom: [1]);   // x 0.5..3.5 cells
        level.Sides(0, 1, 2, left: [2], top: [1], right: [1], bottom: [1]);   // the same box from the next cell
        level.Score(0, 1, 1, 0, 0.9);
        level.Score(0, 1, 2, 0, 0.8);
        var same = Decode(2, Settings(), 128, level);
        Assert.Equal(0.9f, Assert.Single(same).Score, 5);

        level.Score(0, 1, 2, 0, 0.01);
        level.Score(0, 1, 2, 1, 0.8);
        var classes = Decode(2, Settings(), 128, level);
        Assert.Equal([0, 1], classes.Select(d => d.Label));
        Assert.Single(Decode(2, Settings(agnostic: true), 128, level));
    }

    [Fact]
    public void OneCellCanGiveSeveralClassesWithTheSameBox()
    {
        var level = new Level(1, 3, 4, 4);
        level.Sides(0, 2, 2, left: [1], top: [1], right: [1], bottom: [1]);
        level.Score(0, 2, 2, 2, 0.9);
        level.Score(0, 2, 2, 0, 0.6);
        var detections = Decode(3, Settings(), 128, level);
        Assert.Equal([2, 0], detections.Select(d => d.Label));
        Assert.Equal(detections[0] with { Score = 0, Label = 0 }, detections[1] with { Score = 0, Label = 0 });
    }

    [Fact]
    public void DetectionLimitAndPerClassCandidatesKeepTheHighestScores()
    {
        var level = new Level(1, 1, 4, 4);
        foreach (var (row, score) in new[] { (0, 0.5), (2, 0.9), (3, 0.7) })
        {
            level.Sides(0, row, 0, left: [0], top: [0], right: [1], bottom: [1]);
            level.Score(0, row, 0, 0, score);
        }
        Assert.Equal([0.9f, 0.7f], Decode(1, Settings(maxDetections: 2), 128, level).Select(d => MathF.Round(d.Score, 5)));
        Assert.Equal([0.9f], Decode(1, Settings(candidates: 1), 128, level).Select(d => MathF.Round(d.Score, 5)));
    }

    [Fact]
    public void EachLevelUsesItsStrideAndEachImageItsOwnValues()
    {
        var fine = new Level(2, 1, 4, 4);     // 32 px input: stride 8
        var coarse = new Level(2, 1, 2, 2);   // stride 16
        coarse.Sides(1, 0, 1, left: [1], top: [0], right: [0], bottom: [1]);
        coarse.Score(1, 0, 1, 0, 0.8);
        var decoded = new YoloDecoder(1, Bins).Decode([fine.Output, coarse.Output], new ImageSize(32, 32), Settings());
        Assert.Empty(decoded[0].Detections);
        var d = Assert.Single(decoded[1].Detections);
        // centre (1.5, 0.5) cells of 16 px
        Assert.Equal((8f, 8f, 24f, 24f), (d.X1, d.Y1, d.X2, d.Y2));
    }

    [Fact]
    public void OutputsThatDoNotFitTheInputAreRefused()
    {
        var decoder = new YoloDecoder(2, Bins);
        var wrongChannels = new RawOutput(new float[1 * 60 * 2 * 2], [1, 60, 2, 2]);
        Assert.Throws<ArgumentException>(() => decoder.Decode([wrongChannels], new ImageSize(64, 64), Settings()));
        var notAStride = new RawOutput(new float[1 * 66 * 3 * 3], [1, 66, 3, 3]);
        Assert.Throws<ArgumentException>(() => decoder.Decode([notAStride], new ImageSize(64, 64), Settings()));
        var shortValues = new RawOutput(new float[10], [1, 66, 2, 2]);
        Assert.Throws<ArgumentException>(() => decoder.Decode([shortValues], new ImageSize(64, 64), Settings()));
    }

    /// <summary>Random raw outputs: the decoder's boxes and scores equal those computed with torch the way the
    /// loss decodes (DFL expectation, dist2bbox on the point grid, times the stride), clipped.</summary>
    [Fact]
    public void AgreesWithTheTrainingSideDecodingOnRandomOutputs()
    {
        var generator = new Generator(7);
        using var head = new YoloHead(1, [16, 32], Bins);
        var fine = torch.randn([1, 65, 4, 4], generator: generator) * 3;
        var coarse = torch.randn([1, 65, 2, 2], generator: generator) * 3;
        var raw = new[] { fine, coarse }.Select(RawOutput.From).ToArray();
        var detections = new YoloDecoder(1, Bins).Decode(raw, new ImageSize(32, 32), Settings(threshold: 0, nmsIou: 1.0, maxDetections: 1000, candidates: 1000))[0].Detections;

        var flat = torch.cat([fine.view(1, 65, -1), coarse.view(1, 65, -1)], 2);
        var (points, strides) = PointGrid.Generate([new GridSize(4, 4), new GridSize(2, 2)], [8.0, 16.0]);
        var boxes = (DistanceCoder.Decode(head.ExpectedDistances(flat.narrow(1, 0, 64)).permute(0, 2, 1), points)[0] * strides).clamp(0, 32);
        var scores = flat[0, 64].sigmoid();
        var order = scores.argsort(descending: true).data<long>().ToArray();
        Assert.Equal(20, detections.Count);
        var expected = boxes.data<float>().ToArray();
        var expectedScores = scores.data<float>().ToArray();
        for (int i = 0; i < 20; i++)
        {
            long a = order[i];
            var d = detections[i];
            Assert.Equal(expectedScores[a], d.Score, 6);
            Assert.Equal(expected[4 * a], d.X1, 3);
            Assert.Equal(expected[4 * a + 1], d.Y1, 3);
            Assert.Equal(expected[4 * a + 2], d.X2, 3);
            Assert.Equal(expected[4 * a + 3], d.Y2, 3);
        }
    }
}
