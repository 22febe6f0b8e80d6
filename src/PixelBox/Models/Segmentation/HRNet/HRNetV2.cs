using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>Configuration of an HRNet stage: modules, BasicBlocks per branch and branch widths.</summary>
public sealed record HRNetStage(int Modules, int[] Blocks, int[] Channels);

/// <summary>
/// HRNetV2 for semantic segmentation (Sun et al. 2019; Wang et al., "Deep High-Resolution Representation
/// Learning for Visual Recognition", TPAMI 2020): a stride-4 stem (two 3x3 stride-2 convolutions),
/// <c>layer1</c> (four Bottlenecks to 256 channels), then stages of 2, 3 and 4 parallel resolution streams
/// (<see cref="HighResolutionModule"/>, repeated multi-resolution fusion) entered through
/// <c>transition1..3</c>; the head upsamples every stream to the highest resolution, concatenates them
/// (all-resolution representation) and applies <c>last_layer</c> (1x1 convolution, BatchNorm, ReLU, 1x1
/// convolution to the classes); logits resized to the input.
/// </summary>
/// <remarks>
/// Module and parameter names are those of the official HRNet-Semantic-Segmentation <c>seg_hrnet.py</c>
/// (<c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, <c>layer1</c>, <c>transition1</c>, <c>stage2</c>,
/// ..., <c>last_layer</c>; absent transitions keep their index), so its checkpoints load. Bilinear resizing
/// uses align_corners = true as that repository's default configuration (MODEL.ALIGN_CORNERS). W18:
/// stages (1 module; 4,4 blocks; 18,36), (4; 4,4,4; 18,36,72), (3; 4,4,4,4; 18,36,72,144); W48 the same
/// with widths 48..384. Parameters: 9,641,119 (W18) and 65,859,379 (W48) for 19 classes, the paper
/// reporting 65.9M for HRNetV2-W48 on Cityscapes; checked against the reference definition
/// tests/PixelBox.Tests/Models/Reference/zoo_reference_models.py.
/// </remarks>
public sealed class HRNetV2 : SegmentationModel, IOnnxExportable
{
    readonly Conv2d conv1;
    readonly BatchNorm2d bn1;
    readonly Conv2d conv2;
    readonly BatchNorm2d bn2;
    readonly ReLU relu;
    readonly Sequential layer1;
    readonly SparseModuleList transition1;
    readonly ModuleList<HighResolutionModule> stage2;
    readonly SparseModuleList transition2;
    readonly ModuleList<HighResolutionModule> stage3;
    readonly SparseModuleList transition3;
    readonly ModuleList<HighResolutionModule> stage4;
    readonly Sequential last_layer;
    readonly bool alignCorners;

    public HRNetV2(string name, int numClasses, int inChannels, IReadOnlyList<HRNetStage> stages, bool alignCorners = true, Device? device = null)
        : base(name, numClasses, inChannels)
    {
        if (stages.Count != 3)
            throw new ArgumentException("HRNetV2 has three multi-resolution stages (2, 3 and 4 branches)", nameof(stages));
        for (var s = 0; s < 3; s++)
            if (stages[s].Blocks.Length != s + 2 || stages[s].Channels.Length != s + 2 || stages[s].Modules < 1)
                throw new ArgumentException($"stage {s + 2} needs {s + 2} branches and at least one module", nameof(stages));
        this.alignCorners = alignCorners;
        Stages = stages;
        conv1 = nn.Conv2d(inChannels, 64, kernel_size: 3, stride: 2, padding: 1, bias: false, device: device);
        bn1 = nn.BatchNorm2d(64, device: device);
        conv2 = nn.Conv2d(64, 64, kernel_size: 3, stride: 2, padding: 1, bias: false, device: device);
        bn2 = nn.BatchNorm2d(64, device: device);
        relu = nn.ReLU(inplace: true);
        layer1 = nn.Sequential();
        layer1.append(new Bottleneck(64, 64, 1, nn.Sequential(
            nn.Conv2d(64, 64 * Bottleneck.Expansion, kernel_size: 1, bias: false, device: device),
            nn.BatchNorm2d(64 * Bottleneck.Expansion, device: device)), 1, device));
        for (var b = 1; b < 4; b++)
            layer1.append(new Bottleneck(64 * Bottleneck.Expansion, 64, device: device));

        int[] previous = [64 * Bottleneck.Expansion];
        transition1 = Transition(previous, stages[0].Channels, device);
        stage2 = Stage(stages[0], alignCorners, device);
        transition2 = Transition(stages[0].Channels, stages[1].Channels, device);
        stage3 = Stage(stages[1], alignCorners, device);
        transition3 = Transition(stages[1].Channels, stages[2].Channels, device);
        stage4 = Stage(stages[2], alignCorners, device);
        long concat = stages[2].Channels.Sum();
        last_layer = nn.Sequential(
            nn.Conv2d(concat, concat, kernel_size: 1, device: device),
            nn.BatchNorm2d(concat, device: device),
            nn.ReLU(inplace: true),
            nn.Conv2d(concat, numClasses, kernel_size: 1, device: device));
        RegisterComponents();
        InitOfficial();
    }

    /// <summary>HRNetV2-W18 (official seg_hrnet_w18 configuration).</summary>
    public static HRNetV2 W18(int numClasses = 19, int inChannels = 3, Device? device = null) =>
        new("hrnetv2-w18", numClasses, inChannels, Widths(18), device: device);

    /// <summary>HRNetV2-W48 (official seg_hrnet_w48 configuration).</summary>
    public static HRNetV2 W48(int numClasses = 19, int inChannels = 3, Device? device = null) =>
        new("hrnetv2-w48", numClasses, inChannels, Widths(48), device: device);

    /// <summary>The standard HRNetV2 stages for base width C: (1; 4,4; C,2C), (4; 4,4,4; C..4C), (3; 4x4; C..8C).</summary>
    public static HRNetStage[] Widths(int c) =>
    [
        new(1, [4, 4], [c, 2 * c]),
        new(4, [4, 4, 4], [c, 2 * c, 4 * c]),
        new(3, [4, 4, 4, 4], [c, 2 * c, 4 * c, 8 * c]),
    ];

    public IReadOnlyList<HRNetStage> Stages { get; }

    /// <summary>Logits are resized to the input: any side, out = in.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 1 ? inputSize : throw new ArgumentException($"input size must be positive, got {inputSize}", nameof(inputSize));

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = ModuleChain.Run([conv1, bn1, relu, conv2, bn2, relu], input);
        x = ModuleChain.Run(layer1.children().Cast<nn.Module<Tensor, Tensor>>(), x);
        var streams = RunStage(stage2, Enter(transition1, [x]));
        streams = RunStage(stage3, Enter(transition2, streams));
        streams = RunStage(stage4, Enter(transition3, streams));

        var (height, width) = (streams[0].shape[^2], streams[0].shape[^1]);
        var all = streams.Select((s, i) => i == 0 ? s : ModuleChain.Resize(s, height, width, alignCorners)).ToList();
        var logits = ModuleChain.Run(last_layer.children().Cast<nn.Module<Tensor, Tensor>>(), cat(all, dim: 1));
        return ModuleChain.Resize(logits, input.shape[^2], input.shape[^1], alignCorners).MoveToOuterDisposeScope();
    }

    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var x = graph.Relu(graph.Conv(graph.Relu(graph.Conv(input, conv1, bn1), "relu1"), conv2, bn2), "relu2");
        x = graph.Apply(layer1, x);
        var streams = ExportStage(graph, stage2, ExportTransition(graph, transition1, [x]));
        streams = ExportStage(graph, stage3, ExportTransition(graph, transition2, streams));
        streams = ExportStage(graph, stage4, ExportTransition(graph, transition3, streams));
        var all = streams.Select((s, i) => i == 0 ? s : graph.ResizeLike(s, streams[0], bilinear: true, $"upsample{i}", alignCorners)).ToList();
        var logits = graph.Apply(last_layer, graph.Concat(all, name: "cat"));
        return graph.ResizeLike(logits, input, bilinear: true, "resize", alignCorners);
    }

    static OnnxValue[] ExportTransition(OnnxGraph graph, SparseModuleList transition, OnnxValue[] streams) =>
        [.. Enumerable.Range(0, transition.Count).Select(i =>
        {
            var source = i < streams.Length ? streams[i] : streams[^1];
            return transition[i] is { } layer ? graph.Apply(layer, source) : source;
        })];

    static OnnxValue[] ExportStage(OnnxGraph graph, ModuleList<HighResolutionModule> stage, OnnxValue[] streams)
    {
        foreach (var module in stage)
            streams = graph.Apply(module, streams);
        return streams;
    }

    /// <summary>A transition: existing streams pass (or change width through a 3x3 conv), a new stream
    /// comes from the lowest-resolution one through strided 3x3 convolutions.</summary>
    static List<Tensor> Enter(SparseModuleList transition, List<Tensor> streams)
    {
        var next = new List<Tensor>();
        for (var i = 0; i < transition.Count; i++)
        {
            var source = i < streams.Count ? streams[i] : streams[^1];
            next.Add(transition[i] is { } layer ? layer.call(source) : source);
        }
        return next;
    }

    static List<Tensor> RunStage(ModuleList<HighResolutionModule> stage, List<Tensor> streams)
    {
        foreach (var module in stage)
            streams = module.call(streams);
        return streams;
    }

    /// <summary>The official _make_transition_layer.</summary>
    static SparseModuleList Transition(IReadOnlyList<int> previous, IReadOnlyList<int> current, Device? device)
    {
        var layers = new nn.Module<Tensor, Tensor>?[current.Count];
        for (var i = 0; i < current.Count; i++)
        {
            if (i < previous.Count)
            {
                if (current[i] != previous[i])
                    layers[i] = ConvBnRelu(previous[i], current[i], 1, device);
                continue;
            }
            var steps = nn.Sequential();
            for (var j = 0; j <= i - previous.Count; j++)
                steps.append(ConvBnRelu(previous[^1], j == i - previous.Count ? current[i] : previous[^1], 2, device));
            layers[i] = steps;
        }
        return new SparseModuleList(layers);
    }

    static Sequential ConvBnRelu(long inChannels, long outChannels, int stride, Device? device) =>
        nn.Sequential(
            nn.Conv2d(inChannels, outChannels, kernel_size: 3, stride: stride, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(outChannels, device: device),
            nn.ReLU(inplace: true));

    static ModuleList<HighResolutionModule> Stage(HRNetStage config, bool alignCorners, Device? device)
    {
        var modules = new ModuleList<HighResolutionModule>();
        for (var m = 0; m < config.Modules; m++)
            modules.append(new HighResolutionModule(config.Channels, config.Blocks, config.Channels, alignCorners, device));
        return modules;
    }

    /// <summary>The official init_weights: convolutions normal with std 0.001, BatchNorm weight 1, bias 0.</summary>
    void InitOfficial()
    {
        using var noGrad = no_grad();
        foreach (var (_, module) in named_modules())
        {
            if (module is Conv2d conv && conv.weight!.device_type != DeviceType.META)
                nn.init.normal_(conv.weight, 0, 0.001);
        }
    }
}
