using PixelBox.Data;
using PixelBox.Models.Segmentation;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

/// <summary>
/// Small U-Nets (widths 4..12) have convolutions with channel counts that are not multiples of 16, which
/// oneDNN's AVX-512 kernels in libtorch 2.10 got wrong: `train seg --width 8 --depth 3` ended in
/// "loss is NaN at iteration 2" in most runs, and the runs that finished had wrong gradients
/// (ChannelTailConvolutions works around it). Training these sizes repeatedly must stay finite and exact.
/// </summary>
[Collection(TorchRandomCollection.Name)]
public class SmallUNetTrainingTests
{
    [Fact]
    public void Small_widths_train_without_NaN_and_identical_runs_are_bit_identical()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 12, 32, seed: 3);
        var previousThreads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            var runs = new Dictionary<int, (double[] Losses, Dictionary<string, Tensor> Weights)>();
            int index = 0;
            foreach (var width in new[] { 8, 4, 12, 8, 6, 4, 10, 12 })
            {
                var run = Train(data, Path.Combine(dir, $"run{index++}"), width);
                Assert.All(run.Losses, loss => Assert.True(double.IsFinite(loss), $"width {width}: loss {loss}"));
                if (runs.TryGetValue(width, out var first))
                {
                    Assert.Equal(first.Losses, run.Losses);
                    foreach (var (name, tensor) in first.Weights)
                        Assert.True(tensor.bytes.SequenceEqual(run.Weights[name].bytes), $"width {width}: {name} differs between identical runs");
                }
                else
                    runs[width] = run;
            }
        }
        finally
        {
            torch.set_num_threads(previousThreads);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(12)]
    public void Small_width_gradients_match_a_float64_computation(int width)
    {
        var generator = new Generator((ulong)width);
        using var model = UNet.Same(5, 3, baseWidth: width, depth: 3, batchNorm: true);
        using var reference = UNet.Same(5, 3, baseWidth: width, depth: 3, batchNorm: true);
        reference.load_state_dict(model.state_dict());
        reference.to(float64);
        using var input = torch.randn([4, 3, 32, 32], generator: generator);
        using var target = torch.randint(0, 5, [4, 32, 32], generator: generator);

        nn.functional.cross_entropy(model.forward(input), target).backward();
        nn.functional.cross_entropy(reference.forward(input.to(float64)), target).backward();

        var expected = reference.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!);
        foreach (var (name, parameter) in model.named_parameters())
        {
            var grad = parameter.grad!;
            Assert.True(grad.isfinite().all().item<bool>(), $"width {width}: {name} gradient is not finite");
            var scale = expected[name].abs().max().item<double>();
            var error = (grad.to(float64) - expected[name]).abs().max().item<double>();
            Assert.True(error <= 1e-3 * scale + 1e-7, $"width {width}: {name} gradient off by {error:G3} (scale {scale:G3})");
        }
    }

    /// <summary>One epoch (2 steps) of what `train seg --model unet-same --width W --depth 3 --batch-size 4
    /// --workers 1` does; the per-step losses and the final weights.</summary>
    static (double[] Losses, Dictionary<string, Tensor> Weights) Train(string data, string outDir, int width)
    {
        var task = new SegmentationTaskOptions
        {
            DataRoot = data,
            ModelName = "unet-same",
            ModelSize = new ModelSize(width, 3),
            BatchSize = 4,
            Workers = 1,
        };
        var options = new TrainingOptions { Epochs = 1 };
        using var training = SegmentationTraining.Start(task, options, outDir);
        var losses = new List<double>();
        training.Trainer.IterationCompleted += progress => losses.Add(progress.Loss);
        training.Run();
        var weights = training.Model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
        Assert.Equal(training.Trainer.TotalIterations, losses.Count);
        return ([.. losses], weights);
    }
}
