using PixelBox.Cli;
using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Models.Segmentation;
using PixelBox.Tests.Training;
using PixelBox.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Cli;

/// <summary>`train seg --backbone-weights`: a torchvision ImageNet classifier's state dict (mobilenet_v3_large
/// key names, written here from a PixelBox encoder) starts a new run's encoder; bad uses are one line.</summary>
[Collection(CliRunner.Collection)]
public class TrainSegBackboneWeightsTests
{
    const string Arch = "lraspp-mobilenet-v3-large";

    [Fact]
    public void The_encoder_starts_from_the_imagenet_weights()
    {
        var dir = TinyTask.TempDir();
        var data = Path.Combine(dir, "shapes");
        ShapesDataset.Generate(data, 6, 64, seed: 4, valFraction: 0.34);
        var weights = Path.Combine(dir, "mobilenet_v3_large.safetensors");
        Dictionary<string, Tensor> imagenet;
        torch.manual_seed(11);
        using (var source = (LrAspp)ModelRegistry.Get(Arch).CreateSegmentation(3, 3))
        {
            imagenet = source.Backbone.state_dict().ToDictionary(kv => "features." + kv.Key, kv => kv.Value.clone());
            imagenet["classifier.0.weight"] = zeros(2, 2); // torchvision's classifier: ignored by name
            Safetensors.SaveStateDict(weights, imagenet);
        }

        string[] Train(string run) => ["train", "seg", "--data", data, "--model", Arch, "--out", Path.Combine(dir, run), "--iterations", "1",
                                       "--batch-size", "2", "--lr", "1e-12", "--warmup", "0", "--threads", "1"];
        var (code, stdout, stderr) = CliRunner.Run([.. Train("with"), "--backbone-weights", weights]);
        Assert.True(code == 0, stderr);
        Assert.Contains($"Encoder from {weights}: {imagenet.Count - 1} tensors loaded, 1 of the classifier ignored", stdout);
        Assert.Equal(0, CliRunner.Run(Train("without")).Code);

        float Difference(string run)
        {
            var checkpoint = Checkpoint.Open(Path.Combine(dir, run, Trainer.LastCheckpointName));
            using var model = (LrAspp)SegmentationModelInfo.FromCheckpoint(checkpoint).CreateModel();
            checkpoint.LoadModel(model);
            // after one step at lr 1e-12 the weights are still the file's (running statistics have moved)
            return model.Backbone.state_dict().Where(kv => kv.Key.EndsWith(".weight", StringComparison.Ordinal))
                .Max(kv => (kv.Value - imagenet["features." + kv.Key]).abs().max().item<float>());
        }
        Assert.True(Difference("with") < 1e-6f, $"{Difference("with")}");
        Assert.True(Difference("without") > 1e-2f, "a run without the weights starts elsewhere");

        // a model without a torchvision encoder, and a resumed run, refuse the option in one line
        var unet = CliRunner.Run("train", "seg", "--data", data, "--model", "unet-same", "--out", Path.Combine(dir, "unet"), "--backbone-weights", weights, "--threads", "1");
        Assert.Equal(2, unet.Code);
        Assert.StartsWith("error: --backbone-weights: ", unet.Err.Trim());
        Assert.Single(unet.Err.Trim().Split('\n'));
        var resume = CliRunner.Run("train", "seg", "--out", Path.Combine(dir, "with"), "--resume", "--backbone-weights", weights);
        Assert.Equal(2, resume.Code);
        Assert.Contains("--backbone-weights", resume.Err);
    }
}
