using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using PixelBox.Data;
using PixelBox.Imaging;
using PixelBox.Inference;
using PixelBox.Models;
using PixelBox.Onnx;
using PixelBox.Onnx.Proto;
using PixelBox.Tests.Models;
using PixelBox.Tests.Training;
using PixelBox.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using DataType = PixelBox.Onnx.Proto.TensorProto.Types.DataType;

namespace PixelBox.Tests.Onnx;

/// <summary>
/// <c>quantize</c>'s QDQ models: one convolution equals integer arithmetic done here; exported segmentation and
/// detection models get int8 per-channel weights, int32 biases and Q/DQ pairs in the form ONNX Runtime fuses into
/// its int8 kernels (checked in the optimised graph it writes), pass ONNX's checker, and stay close to the float model.
/// </summary>
public class OnnxQuantizerTests(ITestOutputHelper output)
{
    [Fact]
    public void One_convolution_equals_integer_arithmetic()
    {
        using var conv = nn.Conv2d(3, 4, 3, padding: 1);
        using (no_grad())
        {
            conv.weight!.copy_(randn(conv.weight.shape, generator: new Generator(1)) * 0.3);
            conv.bias!.copy_(randn(4, generator: new Generator(2)) * 0.2);
        }
        var graph = new OnnxGraph("conv", conv, 17);
        var images = graph.AddInput("images", [1, 3, 6, 5], [null, null, null, null]);
        graph.AddOutput(graph.Relu(graph.Conv(images, conv)), "output");
        var model = new ModelProto { IrVersion = 8, Graph = graph.Proto };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });

        var plan = OnnxQuantizer.Plan(model);
        Assert.Single(plan.Nodes);
        Assert.Equal(2, plan.Activations.Count); // the input, and the Relu's output (the Conv's own output only feeds the Relu)
        var ranges = new Dictionary<string, TensorRange> { [plan.Activations[0]] = new(-2, 3), [plan.Activations[1]] = new(0, 4) };
        var path = Path.Combine(TinyTask.TempDir(), "conv.int8.onnx");
        OnnxExport.Write(OnnxQuantizer.Quantize(model, plan, ranges, []), path);
        Assert.Contains("QLinearConv", OptimizedOps(path));

        var x = randn([1, 3, 6, 5], generator: new Generator(3)).data<float>().ToArray();
        using var session = OnnxRuntimeSession.Open(path, threads: 1);
        var actual = session.Run(x, [1, 3, 6, 5])[0].Values;
        var expected = IntegerConvolution(x, conv.weight!.data<float>().ToArray(), conv.bias!.data<float>().ToArray());
        float outputStep = 4f / 255;
        double worst = actual.Zip(expected).Max(p => Math.Abs(p.First - p.Second));
        output.WriteLine($"max |ORT int8 - integer arithmetic| = {worst:E2} (output step {outputStep:E2})");
        Assert.True(worst <= outputStep * 1.01, $"max error {worst} exceeds one output step {outputStep}");
        Assert.Contains(expected, v => v > 0.5f); // not all clipped: the comparison means something
    }

    /// <summary>
    /// What QLinearConv computes, written out: input uint8 at scale 5/255, zero point 102 (range [-2, 3]); weights
    /// int8 per output channel at max |w| / 127; bias int32 at input scale x weight scale; int32 accumulation (zero
    /// padding is the zero point, i.e. adds 0); the sum rescaled, Relu, and quantised to uint8 over [0, 4].
    /// </summary>
    static float[] IntegerConvolution(float[] x, float[] w, float[] b)
    {
        const int C = 3, K = 4, H = 6, W = 5;
        float inScale = 5f / 255, outScale = 4f / 255;
        int inZero = (int)Math.Round(2 / inScale);
        var xq = x.Select(v => (int)Math.Clamp(Math.Round(v / inScale) + inZero, 0, 255) - inZero).ToArray();
        var result = new float[K * H * W];
        for (int k = 0; k < K; k++)
        {
            float wScale = Enumerable.Range(0, C * 9).Max(i => Math.Abs(w[k * C * 9 + i])) / 127;
            var wq = Enumerable.Range(0, C * 9).Select(i => (int)Math.Round(w[k * C * 9 + i] / wScale)).ToArray();
            long bias = (long)Math.Round(b[k] / (inScale * wScale));
            for (int i = 0; i < H; i++)
                for (int j = 0; j < W; j++)
                {
                    long sum = bias;
                    for (int c = 0; c < C; c++)
                        for (int di = -1; di <= 1; di++)
                            for (int dj = -1; dj <= 1; dj++)
                                if (i + di is >= 0 and < H && j + dj is >= 0 and < W)
                                    sum += (long)xq[(c * H + i + di) * W + j + dj] * wq[(c * 3 + di + 1) * 3 + dj + 1];
                    double y = Math.Max(0, sum * (double)inScale * wScale);
                    result[(k * H + i) * W + j] = (float)(Math.Clamp(Math.Round(y / outScale), 0, 255) * outScale);
                }
        }
        return result;
    }

    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    [InlineData(CalibrationMethod.Entropy)]
    public void Segmentation_model_is_fused_to_int8_kernels_and_stays_close(CalibrationMethod method)
    {
        var (dir, floatPath, calibration) = SegmentationSetup();
        var int8Path = Path.Combine(dir, $"unet-same.{method}.int8.onnx");
        var summary = ModelQuantization.Quantize(floatPath, calibration, int8Path, new CalibrationSettings { Method = method, Threads = 1 }, images: 8);
        Assert.Equal(8, summary.Images);
        var (floatModel, quantized) = (OnnxExport.Read(floatPath), OnnxExport.Read(int8Path));
        int convolutions = floatModel.Graph.Node.Count(n => n.OpType == "Conv");
        Assert.Equal(convolutions, summary.QuantizedNodes);
        AssertQdqForm(quantized, convolutions);
        Assert.Equal(convolutions, OptimizedOps(int8Path).Count(op => op == "QLinearConv"));
        Assert.DoesNotContain("Conv", OptimizedOps(int8Path));
        var metadata = quantized.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        foreach (var entry in floatModel.MetadataProps)
            Assert.Equal(entry.Value, metadata[entry.Key]);
        Assert.Equal(method.ToString().ToLowerInvariant(), (string?)JsonNode.Parse(metadata[ModelQuantization.QuantizationKey])!["method"]);

        // Logits of the validation images: the int8 model's within a few percent of the float model's range.
        using var floatPredictor = OnnxSegmentationPredictor.Load(floatPath, threads: 1);
        using var int8Predictor = OnnxSegmentationPredictor.Load(int8Path, threads: 1);
        double worst = 0, sum = 0, range = 0;
        long count = 0, agree = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(dir, "val")))
        {
            var image = RgbImageFile.Read(file);
            var (expected, actual) = (floatPredictor.PredictLogits(image), int8Predictor.PredictLogits(image));
            range = Math.Max(range, expected.Max() - expected.Min());
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(expected[i] - actual[i]);
                (worst, sum) = (Math.Max(worst, error), sum + error);
            }
            count += expected.Length;
            int pixels = image.Width * image.Height;
            agree += OnnxSegmentationPredictor.ArgMax(expected, 5, pixels).Zip(OnnxSegmentationPredictor.ArgMax(actual, 5, pixels)).Count(p => p.First == p.Second);
        }
        long allPixels = count / 5;
        output.WriteLine($"{method}: {summary.QuantizedNodes} convolutions quantized; logit range {range:F3}, max |int8 - float| {worst:F4} " +
                         $"({worst / range:P2} of the range), mean {sum / count:F4} ({sum / count / range:P2}); arg-max agreement {(double)agree / allPixels:P2}");
        Assert.True(sum / count <= 0.02 * range, $"mean error {sum / count} > 2% of the logit range {range}");
        // Entropy calibration saturates rare large activations by design (here up to 48% of the range at a few pixels
        // of these flat-coloured images); the others keep every value within a few quantisation steps.
        if (method != CalibrationMethod.Entropy)
            Assert.True(worst <= 0.1 * range, $"max error {worst} > 10% of the logit range {range}");
    }

    [Fact]
    public void Detector_is_fused_to_int8_kernels_and_stays_close()
    {
        var dir = TinyTask.TempDir();
        var info = new DetectionModelInfo("yolo", 3, 3, ["a", "b", "c"], null, PixelBox.Models.Detection.Yolo.YoloV8.DefaultSettings(64));
        var checkpoint = Path.Combine(dir, "det.ckpt");
        using (var detector = info.CreateModel())
        {
            ReferenceWeights.Fill(detector);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, detector, null);
        }
        var floatPath = Path.Combine(dir, "yolo.onnx");
        CheckpointExport.Export(checkpoint, floatPath);
        ShapesDataset.Generate(Path.Combine(dir, "shapes"), count: 10, size: 64, seed: 7);
        var images = Path.Combine(dir, "shapes", "images");
        var int8Path = Path.Combine(dir, "yolo.int8.onnx");
        var summary = ModelQuantization.Quantize(floatPath, images, int8Path, new CalibrationSettings { Method = CalibrationMethod.Percentile, Threads = 1 });
        int convolutions = OnnxExport.Read(floatPath).Graph.Node.Count(n => n.OpType == "Conv");
        Assert.Equal(convolutions, summary.QuantizedNodes);
        AssertQdqForm(OnnxExport.Read(int8Path), convolutions);
        var fused = OptimizedOps(int8Path).Count(op => op == "QLinearConv");
        output.WriteLine($"yolo: {convolutions} convolutions, {fused} QLinearConv after ONNX Runtime's optimisation");
        Assert.Equal(convolutions, fused);

        using var floatModel = OnnxDetectionPredictor.Load(floatPath, threads: 1);
        using var int8Model = OnnxDetectionPredictor.Load(int8Path, threads: 1);
        var image = RgbImageFile.Read(Directory.GetFiles(images).Order().First());
        var input = info.Settings.Normalization.ToChw(image.Pixels, image.Width, image.Height);
        var (expected, actual) = (floatModel.Run(input, [1, 3, 64, 64]), int8Model.Run(input, [1, 3, 64, 64]));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Shape, actual[i].Shape);
            double range = expected[i].Values.Max() - expected[i].Values.Min();
            double mean = expected[i].Values.Zip(actual[i].Values).Average(p => Math.Abs(p.First - p.Second));
            output.WriteLine($"output{i}: range {range:F3}, mean |int8 - float| {mean:F4} ({mean / range:P2})");
            Assert.True(mean <= 0.03 * range, $"output{i}: mean error {mean} > 3% of its range {range}");
        }
    }

    [OnnxCheckerFact]
    public void Quantized_models_pass_the_onnx_checker()
    {
        var (dir, floatPath, calibration) = SegmentationSetup();
        var int8Path = Path.Combine(dir, "checked.int8.onnx");
        ModelQuantization.Quantize(floatPath, calibration, int8Path, new CalibrationSettings { Threads = 1 }, images: 4);
        Assert.Null(OnnxChecker.Check(int8Path)[0]);
    }

    [Fact]
    public void Percentiles_and_entropy_clip_outliers_that_min_max_keeps()
    {
        // 10,000 values spread evenly over [0, 1) and ten outliers at 100.
        var values = Enumerable.Range(0, 10_000).Select(i => i / 10_000f).Concat(Enumerable.Repeat(100f, 10)).ToArray();
        // the quantiles of an exponential distribution of mean 1 (a post-activation's long tail), with the same outliers
        var exponential = Enumerable.Range(0, 10_000).Select(i => -MathF.Log(1 - (i + 0.5f) / 10_000)).Concat(Enumerable.Repeat(100f, 10)).ToArray();
        var range = TensorRange.Empty.Union(values);
        Assert.Equal(new TensorRange(0, 100), range);

        var histogram = new ValueHistogram(range, magnitudes: false);
        histogram.Add(values);
        var percentile = histogram.Percentile(99);
        Assert.Equal(0, percentile.Min);
        Assert.InRange(percentile.Max, 0.97, 1.03); // the 99th percentile of 10,010 values: 0.9909, to a bin (100 / 2048)

        var magnitudes = new ValueHistogram(TensorRange.Empty.Union(exponential), magnitudes: true);
        magnitudes.Add(exponential);
        var entropy = magnitudes.Entropy(256);
        output.WriteLine($"percentile 99: {percentile}; entropy: {entropy}");
        // 256 levels over [0, 100] would give the bulk (below 10) 25 of them; the least-divergence clip keeps the
        // bulk's tail (the largest of the 10,000 is 9.9) and drops the outliers
        Assert.InRange(entropy.Max, 5, 20);
    }

    [Fact]
    public void Per_channel_weights_use_the_full_int8_range_of_each_channel()
    {
        float[] weights = [0.5f, -1f, 0.25f, 0, 0.001f, -0.002f, 0, 0, 0];
        var (values, scales) = OnnxQuantizer.QuantizeWeights(weights, channels: 3, channelsLast: false);
        Assert.Equal([1f / 127, 0.002f / 127, 1], scales);
        Assert.Equal([64, -127, 32, 0, 64, -127, 0, 0, 0], values.Select(v => (int)v));
        var (transposed, transposedScales) = OnnxQuantizer.QuantizeWeights([0.5f, 0.001f, -1f, -0.002f], channels: 2, channelsLast: true);
        Assert.Equal([1f / 127, 0.002f / 127], transposedScales);
        Assert.Equal([64, 64, -127, -127], transposed.Select(v => (int)v));
        Assert.Equal((4f / 255, (byte)64), OnnxQuantizer.ActivationParameters(new TensorRange(-1, 3)));
        Assert.Equal((2f / 255, (byte)0), OnnxQuantizer.ActivationParameters(new TensorRange(0.5f, 2)));
    }

    /// <summary>A unet-same checkpoint with reference weights exported at 32 x 32, and Shapes images: train/ for calibration, val/.</summary>
    static (string Dir, string FloatPath, string Calibration) SegmentationSetup()
    {
        var dir = TinyTask.TempDir();
        var info = new SegmentationModelInfo("unet-same", 5, 3, ShapesDataset.ClassNames, Normalization.ImageNet, 255, new ModelSize(8, 3));
        var checkpoint = Path.Combine(dir, "best.ckpt");
        using (var model = info.CreateModel())
        {
            ReferenceWeights.Fill(model);
            Checkpoint.Write(checkpoint, new JsonObject { ["model"] = info.ToJson() }, model, null);
        }
        var floatPath = Path.Combine(dir, "unet-same.onnx");
        CheckpointExport.Export(checkpoint, floatPath, height: 32);
        ShapesDataset.Generate(Path.Combine(dir, "shapes"), count: 16, size: 32, seed: 5, valFraction: 0.25);
        foreach (var split in new[] { "train", "val" })
        {
            var folder = Directory.CreateDirectory(Path.Combine(dir, split)).FullName;
            foreach (var stem in File.ReadAllLines(Path.Combine(dir, "shapes", split + ".txt")))
                File.Copy(Path.Combine(dir, "shapes", "images", stem + ".png"), Path.Combine(folder, stem + ".png"));
        }
        return (dir, floatPath, Path.Combine(dir, "train"));
    }

    /// <summary>
    /// Every quantised node reads its data input, weight and bias through DequantizeLinear: weight int8 with a
    /// scale per output channel (axis 0) and zero point 0, bias int32 at input scale x weight scale; and its
    /// output (or its sole Relu's) goes to QuantizeLinear only.
    /// </summary>
    static void AssertQdqForm(ModelProto model, int expectedNodes)
    {
        var graph = model.Graph;
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var initializers = graph.Initializer.ToDictionary(i => i.Name);
        int checkedNodes = 0;
        foreach (var node in graph.Node.Where(n => n.OpType == "Conv"))
        {
            var dq = node.Input.Select(i => producers[i]).ToArray();
            Assert.All(dq, d => Assert.Equal("DequantizeLinear", d.OpType));
            var weight = initializers[dq[1].Input[0]];
            Assert.Equal((int)DataType.Int8, weight.DataType);
            var scales = MemoryMarshal.Cast<byte, float>(initializers[dq[1].Input[1]].RawData.Span).ToArray();
            Assert.Equal(weight.Dims[0], scales.Length);
            Assert.All(initializers[dq[1].Input[2]].RawData.ToByteArray(), b => Assert.Equal(0, b));
            Assert.Equal(0, dq[1].Attribute.Single(a => a.Name == "axis").I);
            var weights = MemoryMarshal.Cast<byte, sbyte>(weight.RawData.Span).ToArray();
            int perChannel = weights.Length / scales.Length;
            for (int c = 0; c < scales.Length; c++)
                Assert.Equal(127, weights.Skip(c * perChannel).Take(perChannel).Max(v => Math.Abs((int)v))); // each channel spans the int8 range
            if (dq.Length == 3)
            {
                Assert.Equal((int)DataType.Int32, initializers[dq[2].Input[0]].DataType);
                float inputScale = BitConverter.ToSingle(initializers[dq[0].Input[1]].RawData.Span);
                var biasScales = MemoryMarshal.Cast<byte, float>(initializers[dq[2].Input[1]].RawData.Span).ToArray();
                Assert.Equal(scales.Select(s => inputScale * s), biasScales);
            }
            var readers = graph.Node.Where(n => n.Input.Contains(node.Output[0])).ToList();
            if (readers is [{ OpType: "Relu" } relu])
                readers = [.. graph.Node.Where(n => n.Input.Contains(relu.Output[0]))];
            Assert.All(readers, r => Assert.Equal("QuantizeLinear", r.OpType));
            Assert.NotEmpty(readers);
            Assert.Equal((int)DataType.Uint8, initializers[readers[0].Input[2]].DataType);
            checkedNodes++;
        }
        Assert.Equal(expectedNodes, checkedNodes);
        Assert.All(graph.Output, o => Assert.Equal((int)DataType.Float, o.Type.TensorType.ElemType));
    }

    /// <summary>Op types of the graph ONNX Runtime runs after its optimisations (all levels, as <c>predict</c> loads models).</summary>
    static List<string> OptimizedOps(string path)
    {
        var optimized = path + ".optimized.onnx";
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized, IntraOpNumThreads = 1 })
        using (new InferenceSession(path, options))
        {
        }
        return [.. ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node.Select(n => n.OpType)];
    }
}
