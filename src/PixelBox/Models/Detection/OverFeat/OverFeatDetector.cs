using PixelBox.Boxes;
using PixelBox.Data;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.OverFeat;

/// <summary>
/// OverFeat (Sermanet, Eigen, Zhang, Mathieu, Fergus &amp; LeCun, ICLR 2014; arXiv 2013) as a detector: a
/// classifier (classes + background) and a class-specific box regressor for one fixed-size window, both
/// convolutional, so that applied to a larger image they evaluate every window position at once (a dense
/// sliding window with the network's stride: sec. 3.5, Fig. 5), over an image pyramid; detections of all
/// positions and scales are combined by the paper's greedy box merging (sec. 4.3, <see cref="OverFeatDecoder"/>),
/// not by NMS.
/// </summary>
/// <remarks>
/// Training is on windows: every window position of every pyramid scale is one training example, evaluated
/// in one pass per scale (the same arithmetic as cropping the windows; sec. 3.5). A window whose box has IoU
/// &gt;= 0.5 with an object (or is the object's best window) is a positive of that class and trains the
/// regressor on the object's box ("we do not train on bounding boxes with less than 50% overlap with the
/// input field of view"); the others are background, of which the 3 x as many with the highest loss are
/// used (the paper's "most offending" negatives). Losses: "classification" (cross-entropy) and "regression"
/// (squared error of the four box edges relative to the window, in window sides, the paper's l2 loss), both
/// per positive window.
/// Raw outputs: each scale's class logits [N, classes + 1, h, w] (background first), then each scale's box
/// edges [N, 4 classes, h, w].
/// </remarks>
public sealed class OverFeatDetector : DetectionModel, IOnnxExportableMulti
{
    readonly Sequential features;
    readonly Sequential classifier;
    readonly Sequential regressor;
    readonly OverFeatDecoder decoder;
    readonly SsdMatcher matcher = new(0.5);

    public OverFeatDetector(OverFeatLayout layout, int numClasses, int inChannels = 3, DetectionSettings? settings = null, Device? device = null)
        : base("OverFeat-" + layout.Name, numClasses, inChannels, settings ?? DefaultSettings(layout))
    {
        Settings.Validate();
        Layout = layout;
        if (layout.Positions(layout.Window) != 1)
            throw new ArgumentException($"OverFeat ({layout.Name}): a {layout.Window}-pixel window gives {layout.Positions(layout.Window)} positions, not 1");
        var sides = layout.ScaledSides(Settings.InputSize);
        if (sides.Any(s => layout.Positions(s) < 1))
            throw new ArgumentException($"OverFeat ({layout.Name}): an input of {Settings.InputSize} pixels makes pyramid images of " +
                                        $"{string.Join(", ", sides)} pixels, smaller than one {layout.Window}-pixel window");

        features = nn.Sequential();
        long channels = inChannels;
        foreach (var layer in layout.Features)
        {
            if (layer.IsPool)
            {
                features.append(nn.MaxPool2d(kernel_size: layer.Kernel, stride: layer.Stride));
                continue;
            }
            features.append(nn.Conv2d(channels, layer.Channels, kernel_size: layer.Kernel, stride: layer.Stride, padding: layer.Padding,
                bias: !layout.BatchNorm, device: device));
            if (layout.BatchNorm)
                features.append(nn.BatchNorm2d(layer.Channels, device: device));
            features.append(nn.ReLU(inplace: true));
            channels = layer.Channels;
        }
        classifier = Fully(channels, layout.ClassifierWidths, numClasses + 1L, layout.Dropout, layout.FullKernel, device);
        regressor = Fully(channels, layout.RegressorWidths, 4L * numClasses, 0, layout.FullKernel, device);
        RegisterComponents();
        decoder = new OverFeatDecoder(numClasses, layout);
    }

    /// <summary>Fully connected layers as convolutions: kxk then 1x1, ReLU (and dropout) between them.</summary>
    static Sequential Fully(long inChannels, IReadOnlyList<int> hidden, long outputs, double dropout, int kernel, Device? device)
    {
        var layers = nn.Sequential();
        long channels = inChannels;
        for (int i = 0; i < hidden.Count; i++)
        {
            layers.append(nn.Conv2d(channels, hidden[i], kernel_size: i == 0 ? kernel : 1, device: device));
            layers.append(nn.ReLU(inplace: true));
            if (dropout > 0)
                layers.append(nn.Dropout(dropout));
            channels = hidden[i];
        }
        layers.append(nn.Conv2d(channels, outputs, kernel_size: hidden.Count == 0 ? kernel : 1, device: device));
        return layers;
    }

    public OverFeatLayout Layout { get; }

    public override IDetectionDecoder Decoder => decoder;

    /// <summary>Stretched to the layout's native input, pixels to [0, 1] normalised with ImageNet's statistics
    /// (the paper subtracts the mean and divides by the deviation), candidates above 0.01, at most 300 per
    /// class into the merging, 100 detections. NmsIou is not used (merging replaces NMS).</summary>
    public static DetectionSettings DefaultSettings(OverFeatLayout layout) => new()
    {
        InputSize = layout.NativeInputSize,
        Resize = ResizeMode.Stretch,
        Normalization = Normalization.ImageNet,
        ScoreThreshold = 0.01,
        CandidatesPerClass = 300,
        NmsIou = 0.5,
        MaxDetections = 100,
    };

    /// <summary>Raw outputs: the class logits of every pyramid scale, then the box edges of every scale.</summary>
    public override Tensor[] forward(Tensor images)
    {
        if (images.dim() != 4 || images.shape[1] != InChannels)
            throw new ArgumentException($"expected images [N, {InChannels}, H, W], got [{string.Join(", ", images.shape)}]");
        long height = images.shape[2], width = images.shape[3];
        var (heights, widths) = (Layout.ScaledSides(height), Layout.ScaledSides(width));
        using var scope = NewDisposeScope();
        var logits = new Tensor[heights.Length];
        var edges = new Tensor[heights.Length];
        for (int s = 0; s < heights.Length; s++)
        {
            if (Layout.Positions(heights[s]) < 1 || Layout.Positions(widths[s]) < 1)
                throw new ArgumentException($"OverFeat ({Layout.Name}): a {height}x{width} input makes a {heights[s]}x{widths[s]} pyramid image, smaller than one {Layout.Window}-pixel window");
            // libtorch has no bf16 antialiased interpolation: bf16 inference resamples in float32 and rounds once.
            var scaled = heights[s] == height && widths[s] == width
                ? images
                : nn.functional.interpolate(images.dtype == ScalarType.BFloat16 ? images.to(ScalarType.Float32) : images, [heights[s], widths[s]],
                    mode: InterpolationMode.Bilinear, align_corners: false, antialias: heights[s] < height || widths[s] < width).to(images.dtype);
            var map = features.call(scaled);
            logits[s] = classifier.call(map).MoveToOuterDisposeScope();
            edges[s] = regressor.call(map).MoveToOuterDisposeScope();
        }
        return [.. logits, .. edges];
    }

    /// <summary>"classification" and "regression" (see the class remarks).</summary>
    /// <summary>
    /// The forward as an ONNX graph: class logits of every pyramid image, then their box edges. Static size only:
    /// the pyramid's sides follow from the input's, and its antialiased downscaling (opset 18's Resize attribute)
    /// is written as interpolation matrices of known size.
    /// </summary>
    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var images = inputs[0];
        if (!images.IsKnown(2) || !images.IsKnown(3))
            throw new NotSupportedException($"OverFeat ({Layout.Name}): the pyramid's image sizes follow from the input size, so it exports at a fixed size only (without --dynamic-size)");
        long height = images.Dim(2), width = images.Dim(3);
        var (heights, widths) = (Layout.ScaledSides(height), Layout.ScaledSides(width));
        var logits = new OnnxValue[heights.Length];
        var edges = new OnnxValue[heights.Length];
        for (int s = 0; s < heights.Length; s++)
        {
            if (Layout.Positions(heights[s]) < 1 || Layout.Positions(widths[s]) < 1)
                throw new NotSupportedException($"OverFeat ({Layout.Name}): a {height}x{width} input makes a {heights[s]}x{widths[s]} pyramid image, smaller than one {Layout.Window}-pixel window");
            var scaled = graph.ResizeBilinearTo(images, heights[s], widths[s], antialias: heights[s] < height || widths[s] < width, $"pyramid{s}");
            var map = graph.Apply(features, scaled);
            logits[s] = graph.Apply(classifier, map);
            edges[s] = graph.Apply(regressor, map);
        }
        return [.. logits, .. edges];
    }

    public override IReadOnlyList<(string Name, Tensor Value)> ComputeLosses(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        int scales = outputs.Length / 2;
        using var scope = NewDisposeScope();
        var logits = cat(outputs.Take(scales).Select(o => o.flatten(2)).ToArray(), 2).transpose(1, 2);      // [N, A, classes + 1]
        var edges = cat(outputs.Skip(scales).Select(o => o.flatten(2)).ToArray(), 2).transpose(1, 2);       // [N, A, 4 classes]
        var windows = tensor(decoder.Windows(inputSize, [.. outputs.Take(scales).Select(o => (o.shape[2], o.shape[3]))]), ScalarType.Float32).view(-1, 4);
        long count = windows.shape[0];
        var windowSize = (windows.narrow(1, 2, 2) - windows.narrow(1, 0, 2)).repeat(1, 2);
        var windowOrigin = windows.narrow(1, 0, 2).repeat(1, 2);

        var classTargets = new List<Tensor>();
        var regressionLosses = new List<Tensor>();
        long positives = 0;
        for (int i = 0; i < targets.Count; i++)
        {
            var (gt, labels) = (targets[i].Boxes, targets[i].Labels);
            Tensor matched;
            using (no_grad())
                matched = gt.shape[0] == 0 ? full(count, -1L, ScalarType.Int64) : matcher.Match(BoxIou.Pairwise(gt, windows));
            var positive = nonzero(matched >= 0).view(-1);
            positives += positive.shape[0];
            var objectIndex = matched.index_select(0, positive);
            var objectLabels = labels.index_select(0, objectIndex);
            var target = (gt.index_select(0, objectIndex) - windowOrigin.index_select(0, positive)) / windowSize.index_select(0, positive);
            // the four edges predicted for the object's own class
            var columns = (objectLabels.unsqueeze(1) * 4 + arange(4, ScalarType.Int64).unsqueeze(0));
            var predicted = edges[i].index_select(0, positive).gather(1, columns);
            regressionLosses.Add((predicted - target).pow(2).sum());
            classTargets.Add(zeros(count, ScalarType.Int64).index_put_(objectLabels + 1, positive));
        }
        var classTarget = stack(classTargets);
        var perWindow = nn.functional.cross_entropy(logits.reshape(-1, NumClasses + 1), classTarget.view(-1), reduction: nn.Reduction.None)
            .view(classTarget.shape);
        var classification = HardNegativeMining.ClassificationLoss(perWindow, classTarget > 0);
        var regression = stack(regressionLosses).sum() / Math.Max(1, positives);
        return [("classification", classification.MoveToOuterDisposeScope()), ("regression", regression.MoveToOuterDisposeScope())];
    }
}
