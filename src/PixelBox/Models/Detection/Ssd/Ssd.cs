using PixelBox.Boxes;
using PixelBox.Data;
using PixelBox.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>
/// SSD, the single-shot multibox detector (Liu et al., ECCV 2016), as torchvision 0.14's <c>SSD</c> class:
/// a backbone returning several feature maps (<see cref="SsdVgg16Backbone"/>, <see cref="SsdLiteMobileNetV3Backbone"/>),
/// a head predicting, for every default box of every cell of every map, classes + 1 scores (background first)
/// and 4 box codes (<see cref="SsdHead"/>), the default boxes (<see cref="DefaultBoxGenerator"/>), and:
/// <code>
///   training:   match default boxes to ground truth (IoU &gt;= 0.5, plus each ground truth's best box: SsdMatcher);
///               bbox_regression = smooth L1 (beta 1) of the SSD-coded boxes (weights 10, 10, 5, 5) of matched boxes
///               classification  = cross-entropy of the matched boxes + of the 3 x as many unmatched boxes with
///                                 the highest loss (hard negatives); both divided by max(1, matched boxes)
///   inference:  softmax scores; boxes decoded and clipped to the input; per class the scores above the
///               threshold, the top-k of them; class-wise NMS; the best detections (<see cref="SsdDecoder"/>)
/// </code>
/// Labels are PixelBox's (0..NumClasses-1, no background): torchvision's label = PixelBox label + 1.
/// Builders: <see cref="Ssd300Vgg16"/> (ssd300_vgg16) and <see cref="SsdLite320MobileNetV3Large"/>
/// (ssdlite320_mobilenet_v3_large); state-dict keys are torchvision's (<c>backbone.*</c>, <c>head.*</c>).
/// </summary>
public sealed class Ssd : DetectionModel, IOnnxExportableMulti
{
    readonly nn.Module<Tensor, Tensor[]> backbone;
    readonly SsdHead head;
    readonly DefaultBoxGenerator boxes;
    readonly SsdDecoder decoder;
    readonly SsdMatcher matcher = new(0.5);
    readonly BoxCoder coder = BoxCoder.Ssd();

    Ssd(string name, nn.Module<Tensor, Tensor[]> backbone, Func<int[], SsdHead> createHead, DefaultBoxGenerator boxes,
        int numClasses, int inChannels, DetectionSettings settings)
        : base(name, numClasses, inChannels, settings)
    {
        Settings.Validate();
        this.backbone = backbone;
        this.boxes = boxes;
        head = createHead(boxes.NumAnchorsPerLocation());
        decoder = new SsdDecoder(numClasses, boxes, coder);
        RegisterComponents();
        Maps.MapSides(Settings.InputSize); // throws for inputs too small for the deepest map
    }

    /// <summary>torchvision's ssd300_vgg16 defaults: 300 x 300 stretched, the Caffe VGG16's mean on the 0..255
    /// scale (mean 0.48235, 0.45882, 0.40784, std 1/255), score threshold 0.01, 400 candidates per class,
    /// NMS IoU 0.45, 200 detections.</summary>
    public static DetectionSettings Ssd300Settings() => new()
    {
        InputSize = 300,
        Resize = ResizeMode.Stretch,
        Normalization = new Normalization([0.48235f, 0.45882f, 0.40784f], [1f / 255f, 1f / 255f, 1f / 255f]),
        ScoreThreshold = 0.01,
        CandidatesPerClass = 400,
        NmsIou = 0.45,
        MaxDetections = 200,
    };

    /// <summary>torchvision's ssdlite320_mobilenet_v3_large defaults: 320 x 320 stretched, pixels mapped to
    /// [-1, 1] (mean and std 0.5), score threshold 0.001, 300 candidates per class, NMS IoU 0.55, 300 detections.</summary>
    public static DetectionSettings SsdLite320Settings() => new()
    {
        InputSize = 320,
        Resize = ResizeMode.Stretch,
        Normalization = new Normalization([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]),
        ScoreThreshold = 0.001,
        CandidatesPerClass = 300,
        NmsIou = 0.55,
        MaxDetections = 300,
    };

    /// <summary>
    /// torchvision's <c>ssd300_vgg16(num_classes = numClasses + 1)</c>: VGG16 with L2-normalised conv4_3 and four
    /// extra stages, six maps (38, 19, 10, 5, 3, 1) with 4, 6, 6, 6, 4, 4 default boxes per cell (8,732),
    /// scales 0.07 .. 1.05, steps 8, 16, 32, 64, 100, 300. 35,641,826 parameters for COCO's 90 classes
    /// (torchvision's num_classes 91). The default boxes are laid out for 300 x 300 inputs, the only size it takes.
    /// </summary>
    /// <param name="widthDivisor">Divides every VGG16 width (1: torchvision's; larger for tiny models and tests).</param>
    public static Ssd Ssd300Vgg16(int numClasses, int inChannels = 3, DetectionSettings? settings = null, Device? device = null, int widthDivisor = 1)
    {
        settings ??= Ssd300Settings();
        if (settings.InputSize != 300)
            throw new ArgumentException($"SSD300's default boxes (steps 8 .. 300) are laid out for 300 x 300 inputs (got {settings.InputSize})");
        var backbone = new SsdVgg16Backbone(inChannels, device, widthDivisor);
        return new Ssd("SSD300-VGG16", backbone, anchors => SsdHead.Plain(backbone.OutChannels, anchors, numClasses + 1, device),
            DefaultBoxGenerator.Ssd300(), numClasses, inChannels, settings);
    }

    /// <summary>
    /// torchvision's <c>ssdlite320_mobilenet_v3_large(num_classes = numClasses + 1)</c> as built without ImageNet
    /// weights (the configuration of its COCO checkpoint): MobileNetV3-Large with the reduced tail, the C4
    /// expansion and the last layer as the first two maps, four extra depthwise blocks, SSDlite's depthwise
    /// head, 6 default boxes per cell on each of six maps (aspect ratios 2 and 3, scales 0.2 .. 0.95), BatchNorm
    /// eps 0.001 / momentum 0.03. 3,440,060 parameters for COCO's 90 classes. Any input side from 193 (native 320).
    /// </summary>
    public static Ssd SsdLite320MobileNetV3Large(int numClasses, int inChannels = 3, DetectionSettings? settings = null, Device? device = null)
    {
        settings ??= SsdLite320Settings();
        var backbone = new SsdLiteMobileNetV3Backbone(inChannels, device);
        return new Ssd("SSDlite320-MobileNetV3-Large", backbone,
            anchors => SsdHead.Lite(backbone.OutChannels, anchors, numClasses + 1, SsdLiteMobileNetV3Backbone.Norm(device), device),
            DefaultBoxGenerator.SsdLite320(),
            numClasses, inChannels, settings);
    }

    public override IDetectionDecoder Decoder => decoder;

    /// <summary>The backbone's maps (a property, not a field: a second field would register the module twice).</summary>
    ISsdBackbone Maps => (ISsdBackbone)backbone;

    public SsdHead Head => head;

    /// <summary>Raw outputs: each map's box codes [N, 4 A, H, W], then each map's class logits [N, (classes + 1) A, H, W].</summary>
    /// <summary>The forward as an ONNX graph: the regression maps of the six levels, then the classification maps.</summary>
    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        if (inputs[0].IsKnown(2) && inputs[0].IsKnown(3))
            Maps.MapSides(Math.Min(inputs[0].Dim(2), inputs[0].Dim(3)));
        return head.ExportOnnx(graph, graph.Apply(backbone, inputs));
    }

    public override Tensor[] forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InChannels)
            throw new ArgumentException($"expected images [N, {InChannels}, H, W], got [{string.Join(", ", images.shape)}]");
        Maps.MapSides(Math.Min(images.shape[2], images.shape[3]));
        using var scope = NewDisposeScope();
        var outputs = head.call(backbone.call(images));
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>torchvision's SSD.compute_loss: "bbox_regression" and "classification" (see the class summary).</summary>
    public override IReadOnlyList<(string Name, Tensor Value)> ComputeLosses(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        int levels = outputs.Length / 2;
        using var scope = NewDisposeScope();
        var regression = SsdScoringHead.Flatten(outputs.Take(levels), 4);
        var logits = SsdScoringHead.Flatten(outputs.Skip(levels), NumClasses + 1);
        var grid = outputs.Take(levels).Select(o => new GridSize(o.shape[2], o.shape[3])).ToList();
        var anchors = boxes.Generate(inputSize.Height, inputSize.Width, grid);
        long anchorCount = anchors.shape[0];
        if (regression.shape[1] != anchorCount)
            throw new ArgumentException($"the head predicts {regression.shape[1]} boxes for {anchorCount} default boxes");

        var boxLosses = new List<Tensor>();
        var classTargets = new List<Tensor>();
        long foreground = 0;
        for (int i = 0; i < targets.Count; i++)
        {
            var (gt, labels) = (targets[i].Boxes, targets[i].Labels);
            Tensor matched;
            using (no_grad())
                matched = gt.shape[0] == 0
                    ? full(anchorCount, -1L, ScalarType.Int64)
                    : matcher.Match(BoxIou.Pairwise(gt, anchors));
            var positive = nonzero(matched >= 0).view(-1);
            var matchedGt = matched.index_select(0, positive);
            foreground += positive.shape[0];
            var targetCodes = coder.Encode(gt.index_select(0, matchedGt), anchors.index_select(0, positive));
            boxLosses.Add(nn.functional.smooth_l1_loss(regression[i].index_select(0, positive), targetCodes, nn.Reduction.Sum));
            var classes = zeros(anchorCount, ScalarType.Int64);
            classTargets.Add(classes.index_put_(labels.index_select(0, matchedGt) + 1, positive));
        }
        var classTarget = stack(classTargets);
        var perBox = nn.functional.cross_entropy(logits.view(-1, NumClasses + 1), classTarget.view(-1), reduction: nn.Reduction.None)
            .view(classTarget.shape);
        var boxLoss = stack(boxLosses).sum() / Math.Max(1, foreground);
        var classLoss = HardNegativeMining.ClassificationLoss(perBox, classTarget > 0);
        return [("bbox_regression", boxLoss.MoveToOuterDisposeScope()), ("classification", classLoss.MoveToOuterDisposeScope())];
    }
}
