using PixelBox.Models;
using PixelBox.Models.Detection.Yolo;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models.Detection;

public class YoloV8Tests
{
    static long Count(nn.Module model)
    {
        using (model)
            return model.parameters().Sum(p => p.numel());
    }

    /// <summary>ultralytics' published counts for 80 classes ("YOLOv8n summary: 225 layers, 3,157,200
    /// parameters, 3,157,184 gradients": the 16 frozen weights of DFL are counted).</summary>
    [Theory]
    [InlineData("n", 3_157_200)]
    [InlineData("s", 11_166_560)]
    [InlineData("m", 25_902_640)]
    [InlineData("l", 43_691_520)]
    [InlineData("x", 68_229_648)]
    public void ParameterCountsAreUltralytics(string scale, long expected) =>
        Assert.Equal(expected, Count(ModelRegistry.Get("yolo-" + scale).Create(80, 3, META)));

    [Fact]
    public void YoloIsTheNanoSize()
    {
        using var model = (YoloV8)ModelRegistry.Get("yolo").CreateDetection(80, 3, device: META);
        Assert.Equal(YoloScale.N, model.Scale);
        Assert.Equal(16, model.parameters().Where(p => !p.requires_grad).Sum(p => p.numel()));
    }

    [Fact]
    public void StateDictKeysAreUltralytics()
    {
        using var model = new YoloV8(YoloScale.N, 80, device: META);
        var keys = model.state_dict().Keys.ToHashSet();
        foreach (var key in new[]
                 {
                     "model.0.conv.weight", "model.0.bn.running_mean", "model.2.m.0.cv1.conv.weight", "model.9.cv2.bn.bias",
                     "model.21.cv2.conv.weight", "model.22.cv2.0.2.weight", "model.22.cv3.2.2.bias", "model.22.dfl.conv.weight",
                 })
            Assert.Contains(key, keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("model.10.") || k.StartsWith("model.11.") || k.StartsWith("model.13."));
    }

    /// <summary>Raw outputs equal those of the Python transcription of ultralytics' modules
    /// (Reference/make_yolo_reference.py, PyTorch 1.13) with the same formula weights, on a 64x96 input
    /// (not square, so height and width cannot be swapped unnoticed).</summary>
    [Fact]
    public void MatchesTheUltralyticsReference()
    {
        using var model = new YoloV8(YoloScale.N, 3);
        var info = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(ReferenceWeights.Folder, "yolov8n_c3.json"))).RootElement;
        var reference = info.GetProperty("state").EnumerateArray()
            .Select(e => (e[0].GetString()!, e[1].EnumerateArray().Select(v => v.GetInt64()).ToArray())).ToList();
        var ours = ReferenceWeights.Fill(model);
        Assert.Equal(reference.Select(s => s.Item1).Order(), ours.Select(s => s.Name).Order());
        var shapes = ours.ToDictionary(s => s.Name, s => s.Shape);
        foreach (var (name, shape) in reference)
            Assert.True(shape.SequenceEqual(shapes[name]), name);

        model.eval();
        using var noGrad = no_grad();
        using var input = ReferenceWeights.Value("input", [1, 3, 64, 96], "input");
        var outputs = model.call(input);
        var expected = Safetensors.LoadStateDict(Path.Combine(ReferenceWeights.Folder, "yolov8n_c3.safetensors"));
        Assert.Equal(3, outputs.Length);
        for (int i = 0; i < 3; i++)
        {
            using var e = expected[$"output{i}"];
            Assert.Equal(e.shape, outputs[i].shape);
            float absMax = e.abs().max().item<float>();
            float diff = (outputs[i] - e).abs().max().item<float>();
            Assert.True(diff <= 1e-4f * Math.Max(1f, absMax), $"output {i}: max |diff| {diff}");
            outputs[i].Dispose();
        }
    }

    [Theory]
    [InlineData(32, 32)]
    [InlineData(64, 96)]
    [InlineData(160, 128)]
    public void OutputsOneMapPerStride(int height, int width)
    {
        using var model = new YoloV8(YoloScale.N, 5);
        model.eval();
        using var noGrad = no_grad();
        using var images = zeros(2, 3, height, width);
        var outputs = model.call(images);
        Assert.Equal(3, outputs.Length);
        for (int i = 0; i < 3; i++)
        {
            int stride = YoloV8.Strides[i];
            Assert.Equal(new long[] { 2, 64 + 5, height / stride, width / stride }, outputs[i].shape);
            outputs[i].Dispose();
        }
    }

    [Theory]
    [InlineData(48, 64)]
    [InlineData(64, 33)]
    public void SidesThatAreNotMultiplesOf32AreRefused(int height, int width)
    {
        using var model = new YoloV8(YoloScale.N, 2, device: META);
        using var images = zeros(1, 3, height, width, device: META);
        var e = Assert.Throws<ArgumentException>(() => model.call(images));
        Assert.Contains("multiples of 32", e.Message);
    }
}
