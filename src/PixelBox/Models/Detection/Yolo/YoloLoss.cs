using PixelBox.Boxes;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.Yolo;

/// <summary>
/// YOLOv8's training loss (ultralytics' v8DetectionLoss and BboxLoss), batched, without per-object loops:
/// <code>
///   points, strides     cell centres of every level (grid units) and their strides
///   predicted boxes     dist2bbox(E[distance distributions], points)            (grid units)
///   assignment          task-aligned assigner on sigmoid(class logits), predicted boxes * stride,
///                       points * stride and the ground truth (pixels): soft class targets t, the
///                       assigned box and a foreground mask per point
///   S                   max(sum of t, 1)
///   cls = 0.5 * sum BCE-with-logits(class logits, t) / S
///   box = 7.5 * sum over foreground of (1 - CIoU(predicted, assigned)) * w / S        w = sum_c t
///   dfl = 1.5 * sum over foreground of w * mean over the 4 sides of
///               [ CE(logits, floor d) (floor d + 1 - d) + CE(logits, floor d + 1) (d - floor d) ] / S
///         d = distance of the assigned box's side from the point, clamped to [0, bins - 1 - 0.01]
/// </code>
/// Differences from ultralytics: the parts are not multiplied by the batch size (ultralytics scales the
/// total so that SGD's step size follows its nominal batch of 64; AdamW, the trainer's default, is
/// invariant to that scale), and targets come as per-image boxes instead of a batch-index table.
/// </summary>
public sealed class YoloLoss(int numClasses, YoloHead head, IReadOnlyList<int> strides)
{
    public const double BoxGain = 7.5;
    public const double ClassGain = 0.5;
    public const double DflGain = 1.5;

    readonly TaskAlignedAssigner assigner = new(numClasses, topK: 10, alpha: 0.5, beta: 6.0);

    /// <summary>The named parts "box", "cls" and "dfl" (gains applied) for raw outputs of a batch.</summary>
    public IReadOnlyList<(string Name, Tensor Value)> Compute(Tensor[] outputs, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        if (outputs.Length != strides.Count)
            throw new ArgumentException($"expected {strides.Count} output levels, got {outputs.Length}");
        long batch = outputs[0].shape[0];
        if (targets.Count != batch)
            throw new ArgumentException($"{batch} images but {targets.Count} targets");
        int bins = head.Bins;
        long channels = 4L * bins + numClasses;
        for (int i = 0; i < outputs.Length; i++)
            if (outputs[i].shape[1] != channels || outputs[i].shape[2] * strides[i] != inputSize.Height || outputs[i].shape[3] * strides[i] != inputSize.Width)
                throw new ArgumentException($"output {i} has shape [{string.Join(", ", outputs[i].shape)}], which does not fit stride {strides[i]} of a {inputSize.Height}x{inputSize.Width} input");

        using var scope = NewDisposeScope();
        var flat = cat(outputs.Select(o => o.view(batch, channels, -1)).ToArray(), 2);   // [B, no, A]
        var distribution = flat.narrow(1, 0, 4L * bins);                                     // [B, 4 bins, A]
        var classLogits = flat.narrow(1, 4L * bins, numClasses).permute(0, 2, 1);           // [B, A, C]
        var grids = outputs.Select(o => new GridSize(o.shape[2], o.shape[3])).ToArray();
        var (points, pointStrides) = PointGrid.Generate(grids, strides.Select(s => (double)s).ToArray());
        points = points.to(flat.device);
        pointStrides = pointStrides.to(flat.device);
        var predictedBoxes = DistanceCoder.Decode(head.ExpectedDistances(distribution).permute(0, 2, 1), points); // [B, A, 4]

        var (labels, boxes, mask) = Pad(targets, flat.device);
        var assignment = assigner.Assign(classLogits.detach().sigmoid(), predictedBoxes.detach() * pointStrides,
            points * pointStrides, labels, boxes, mask);
        var targetScores = assignment.Scores.to_type(classLogits.dtype);
        var scoreSum = targetScores.sum().clamp_min(1.0);

        var cls = nn.functional.binary_cross_entropy_with_logits(classLogits, targetScores, reduction: nn.Reduction.None).sum() / scoreSum;
        Tensor box, dfl;
        var foreground = assignment.Foreground;
        if (foreground.any().item<bool>())
        {
            var weight = targetScores.sum(-1).index(foreground).unsqueeze(-1);              // [F, 1]
            var assignedBoxes = assignment.Boxes / pointStrides;                               // grid units
            var iou = TaskAlignedAssigner.CompleteIou(predictedBoxes.index(foreground), assignedBoxes.index(foreground));
            box = ((1.0 - iou).unsqueeze(-1) * weight).sum() / scoreSum;
            var sideDistances = DistanceCoder.Encode(points, assignedBoxes, bins - 1).index(foreground); // [F, 4]
            var sideLogits = distribution.permute(0, 2, 1).index(foreground).reshape(-1, bins);      // [F * 4, bins]
            dfl = (DistributionFocalLoss(sideLogits, sideDistances) * weight).sum() / scoreSum;
        }
        else
        {
            // no object in the batch: nothing to regress, but the parts stay in the graph
            box = distribution.sum() * 0.0;
            dfl = distribution.sum() * 0.0;
        }
        var parts = new (string, Tensor)[] { ("box", box * BoxGain), ("cls", cls * ClassGain), ("dfl", dfl * DflGain) };
        foreach (var (_, value) in parts)
            value.MoveToOuterDisposeScope();
        return parts;
    }

    /// <summary>Per foreground point [F, 1]: DFL of its four sides (logits [F * 4, bins], distances [F, 4]), averaged.</summary>
    static Tensor DistributionFocalLoss(Tensor sideLogits, Tensor distances)
    {
        var left = distances.to_type(ScalarType.Int64);
        var right = left + 1;
        var leftWeight = right.to_type(distances.dtype) - distances;
        var rightWeight = 1.0 - leftWeight;
        var lossLeft = nn.functional.cross_entropy(sideLogits, left.view(-1), reduction: nn.Reduction.None).view(left.shape) * leftWeight;
        var lossRight = nn.functional.cross_entropy(sideLogits, right.view(-1), reduction: nn.Reduction.None).view(left.shape) * rightWeight;
        return (lossLeft + lossRight).mean([-1], keepdim: true);
    }

    /// <summary>Ragged targets as the assigner's padded tensors: labels [B, M, 1], boxes [B, M, 4], mask [B, M, 1].</summary>
    static (Tensor Labels, Tensor Boxes, Tensor Mask) Pad(IReadOnlyList<DetectionTarget> targets, Device device)
    {
        long most = targets.Count == 0 ? 0 : targets.Max(t => t.Labels.shape[0]);
        long b = targets.Count;
        var labels = zeros([b, most, 1], ScalarType.Int64, device);
        var boxes = zeros([b, most, 4], ScalarType.Float32, device);
        var mask = zeros([b, most, 1], ScalarType.Bool, device);
        for (int i = 0; i < targets.Count; i++)
        {
            long n = targets[i].Labels.shape[0];
            if (n == 0)
                continue;
            labels[i].narrow(0, 0, n).copy_(targets[i].Labels.view(n, 1));
            boxes[i].narrow(0, 0, n).copy_(targets[i].Boxes);
            mask[i].narrow(0, 0, n).fill_(true);
        }
        return (labels, boxes, mask);
    }
}
