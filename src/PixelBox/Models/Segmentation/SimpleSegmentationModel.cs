using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>
/// torchvision's <c>_SimpleSegmentationModel</c>, the shape of its FCN and DeepLabV3: a
/// <see cref="Backbone"/> returning "out" (and "aux" when there is an auxiliary head), a
/// <c>classifier</c> on "out", an optional <c>aux_classifier</c> on "aux", and both logits resized
/// bilinearly (align_corners = false) to the input size. Any input size.
/// </summary>
/// <remarks><see cref="forward"/> returns torchvision's <c>result["out"]</c> and does not run the auxiliary
/// head; <see cref="ForwardWithAux"/> returns both, for training with torchvision's auxiliary loss.</remarks>
public abstract class SimpleSegmentationModel : SegmentationModel, IOnnxExportable
{
    readonly Backbone backbone;
    readonly nn.Module<Tensor, Tensor> classifier;
    readonly nn.Module<Tensor, Tensor>? aux_classifier;

    protected SimpleSegmentationModel(string name, int numClasses, int inChannels, Backbone backbone,
        nn.Module<Tensor, Tensor> classifier, nn.Module<Tensor, Tensor>? auxClassifier)
        : base(name, numClasses, inChannels)
    {
        this.backbone = backbone;
        this.classifier = classifier;
        aux_classifier = auxClassifier;
        RegisterComponents();
    }

    public Backbone Backbone => backbone;

    public bool HasAuxClassifier => aux_classifier != null;

    /// <summary>Logits are resized to the input: any side, out = in.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 1 ? inputSize : throw new ArgumentException($"input size must be positive, got {inputSize}", nameof(inputSize));

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = backbone.call(input);
        return Head(classifier, features["out"], input).MoveToOuterDisposeScope();
    }

    /// <summary>torchvision's forward: "out" logits and, when the model has an auxiliary head, its logits
    /// (null otherwise), both at the input size.</summary>
    public (Tensor Out, Tensor? Aux) ForwardWithAux(Tensor input)
    {
        using var scope = NewDisposeScope();
        var features = backbone.call(input);
        var output = Head(classifier, features["out"], input).MoveToOuterDisposeScope();
        var aux = aux_classifier is null ? null : Head(aux_classifier, features["aux"], input).MoveToOuterDisposeScope();
        return (output, aux);
    }

    /// <summary>The forward (without the auxiliary head) as an ONNX graph.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        if (backbone is not IOnnxFeatureExtractor extractor)
            throw new NotSupportedException($"{GetName()}: backbone {backbone.GetName()} has no ONNX export");
        var logits = graph.Apply(classifier, extractor.ExportOnnx(graph, input)["out"]);
        return graph.ResizeLike(logits, input, bilinear: true, "resize");
    }

    static Tensor Head(nn.Module<Tensor, Tensor> head, Tensor features, Tensor input)
    {
        using var logits = head.call(features);
        return ModuleChain.Resize(logits, input.shape[^2], input.shape[^1], alignCorners: false);
    }
}

/// <summary>torchvision's <c>FCNHead</c> (a Sequential): 3x3 convolution to in/4 channels without bias,
/// BatchNorm, ReLU, dropout 0.1, 1x1 convolution to the classes; children 0..4.</summary>
public static class FcnHead
{
    public static nn.Module<Tensor, Tensor> Create(long inChannels, long numClasses, Device? device = null)
    {
        var inter = inChannels / 4;
        return nn.Sequential(
            nn.Conv2d(inChannels, inter, kernel_size: 3, padding: 1, bias: false, device: device),
            nn.BatchNorm2d(inter, device: device),
            nn.ReLU(inplace: true),
            nn.Dropout(0.1),
            nn.Conv2d(inter, numClasses, kernel_size: 1, device: device));
    }
}
