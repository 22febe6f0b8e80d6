using PixelBox.Models;
using PixelBox.Models.Detection.Yolo;
using PixelBox.Tests.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models.Detection;

public class YoloLossTests
{
    const int Bins = 16;

    /// <summary>One stride-8 level of a 32x32 input ([1, 64 + 1, 4, 4]): class logits -10 everywhere, and at the four
    /// cells whose centres lie inside the box (4, 4)-(28, 28) class logit 10 and side distributions one-hot at the
    /// bins given by <paramref name="sides"/> (distances in cells from each cell's centre).</summary>
    static Tensor Output(Func<int, int, int[]> sides)
    {
        var values = new float[65 * 16];
        values.AsSpan(64 * 16, 16).Fill(-10f);
        for (int c = 0; c < 64; c++)
            values.AsSpan(c * 16, 16).Fill(-30f);
        foreach (var (row, column) in new[] { (1, 1), (1, 2), (2, 1), (2, 2) })
        {
            int cell = row * 4 + column;
            values[64 * 16 + cell] = 10f;
            var bins = sides(row, column);
            for (int s = 0; s < 4; s++)
                values[(s * Bins + bins[s]) * 16 + cell] = 30f;
        }
        return tensor(values, [1, 65, 4, 4]);
    }

    static Dictionary<string, double> Losses(Tensor output)
    {
        using var head = new YoloHead(1, [16], Bins);
        var loss = new YoloLoss(1, head, [8]);
        using var target = new DetectionTarget(tensor(new float[] { 4, 4, 28, 28 }, [1, 4]), tensor(new long[] { 0 }));
        return loss.Compute([output], [target], new ImageSize(32, 32)).ToDictionary(p => p.Name, p => (double)p.Value.item<float>());
    }

    [Fact]
    public void APerfectPredictionCostsAlmostNothingAndAShiftedOneCosts()
    {
        // cell (r, c) has centre (c + 0.5, r + 0.5) cells; the box spans 0.5 .. 3.5 cells on both axes
        var exact = Losses(Output((r, c) => [c, r, 3 - c, 3 - r]));
        Assert.Equal(["box", "cls", "dfl"], exact.Keys);
        Assert.True(exact["box"] < 1e-4, $"box {exact["box"]}");
        Assert.True(exact["dfl"] < 1e-4, $"dfl {exact["dfl"]}");
        Assert.True(exact["cls"] < 1e-2, $"cls {exact["cls"]}");

        var shifted = Losses(Output((r, c) => [c + 1, r, 3 - c, 3 - r]));
        Assert.True(shifted["box"] > 0.1, $"box {shifted["box"]}");
        Assert.True(shifted["dfl"] > 1, $"dfl {shifted["dfl"]}");
    }

    [Fact]
    public void ImagesWithoutObjectsHaveOnlyAClassificationLoss()
    {
        using var model = new YoloV8(YoloScale.N, 3, settings: YoloV8.DefaultSettings(64));
        using var images = zeros(2, 3, 64, 64);
        var empty = new DetectionTarget(zeros(0, 4), zeros(0, ScalarType.Int64));
        var parts = model.Losses(images, [empty, empty]);
        Assert.Equal(0, parts[0].Value.item<float>());
        Assert.True(parts[1].Value.item<float>() > 0);
        Assert.Equal(0, parts[2].Value.item<float>());
        var total = parts[0].Value + parts[1].Value + parts[2].Value;
        total.backward();
    }

    [Fact]
    public void TargetsMustMatchTheImages()
    {
        using var model = new YoloV8(YoloScale.N, 3, settings: YoloV8.DefaultSettings(64));
        using var images = zeros(2, 3, 64, 64);
        var empty = new DetectionTarget(zeros(0, 4), zeros(0, ScalarType.Int64));
        Assert.Throws<ArgumentException>(() => model.Losses(images, [empty]));
    }
}

[Collection(TorchRandomCollection.Name)]
public class YoloLossTrainingTests
{
    /// <summary>A few AdamW steps on two images: the loss falls by more than half and every part falls.</summary>
    [Fact]
    public void LossFallsOnATinySet()
    {
        torch.manual_seed(3);
        using var model = new YoloV8(YoloScale.N, 2, settings: YoloV8.DefaultSettings(64));
        var generator = new Generator(5);
        using var images = torch.rand([2, 3, 64, 64], generator: generator);
        var targets = new[]
        {
            new DetectionTarget(tensor(new float[] { 8, 10, 30, 40, 36, 20, 60, 50 }, [2, 4]), tensor(new long[] { 0, 1 })),
            new DetectionTarget(tensor(new float[] { 20, 20, 44, 44 }, [1, 4]), tensor(new long[] { 1 })),
        };
        using var optimizer = torch.optim.AdamW(model.parameters(), lr: 0.01);
        model.train();
        double[]? first = null, last = null;
        for (int step = 0; step < 30; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var parts = model.Losses(images, targets);
            var total = parts[0].Value + parts[1].Value + parts[2].Value;
            total.backward();
            optimizer.step();
            last = [total.item<float>(), .. parts.Select(p => (double)p.Value.item<float>())];
            first ??= last;
        }
        Assert.True(last![0] < 0.5 * first![0], $"total loss {first[0]:F3} -> {last[0]:F3}");
        for (int i = 1; i < 4; i++)
            Assert.True(last[i] < first[i], $"part {i}: {first[i]:F3} -> {last[i]:F3}");
    }
}
