using PixelBox.Data;
using PixelBox.Tests.Inference;
using PixelBox.Training;

namespace PixelBox.Tests.Training;

public class SegmentationValidatorTests
{
    static SegmentationSample Sample(string id, int width, int height, int seed)
    {
        var random = new Random(seed);
        var image = new byte[width * height * 3];
        random.NextBytes(image);
        var mask = new byte[width * height];
        for (int i = 0; i < mask.Length; i++)
            mask[i] = (byte)(random.Next(10) == 0 ? 255 : random.Next(2));
        return new SegmentationSample(id, width, height, image, mask);
    }

    [Fact]
    public void Confusion_matrix_counts_every_non_ignored_pixel_of_every_size()
    {
        // Sizes that need padding, mixed so that batching by size matters; batch size 2 splits groups.
        var samples = new[] { Sample("a", 10, 6, 1), Sample("b", 7, 13, 2), Sample("c", 10, 6, 3), Sample("d", 10, 6, 4), Sample("e", 4, 4, 5) };
        var expected = new long[2, 2];
        foreach (var s in samples)
        {
            var predicted = RedOverGreen.Labels(s.Image);
            for (int i = 0; i < s.Mask.Length; i++)
                if (s.Mask[i] != 255)
                    expected[s.Mask[i], predicted[i]]++;
        }

        using var model = new RedOverGreen();
        var matrix = new SegmentationValidator(samples, RedOverGreen.Identity, batchSize: 2).Evaluate(model);

        Assert.Equal(expected, matrix.ToArray());
        Assert.Equal(samples.Sum(s => s.Mask.Count(m => m == 255)), matrix.IgnoredPixels);
    }

    [Fact]
    public void Metrics_are_named_for_the_log()
    {
        var samples = new[] { Sample("a", 8, 8, 1) };
        using var model = new RedOverGreen();
        var validator = new SegmentationValidator(samples, RedOverGreen.Identity);
        var metrics = validator.Metrics(model);
        var matrix = validator.Evaluate(model);
        Assert.Equal(["pixel_accuracy", "mean_iou", "iou/other", "iou/red"], metrics.Keys);
        Assert.Equal(matrix.MeanIoU, metrics["mean_iou"]);
        Assert.Equal(matrix.PixelAccuracy, metrics["pixel_accuracy"]);
        Assert.Equal(matrix.IoU[1], metrics["iou/red"]);
    }
}
