using PixelBox.Boxes;
using PixelBox.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Detection.YoloV1;

/// <summary>
/// YOLOv1's sum-squared loss (Redmon et al. 2015, eq. 3), per image, averaged over the batch:
/// <code>
///   box   = lambda_coord sum_ij 1obj_ij [(x - x^)^2 + (y - y^)^2 + (sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
///   obj   =              sum_ij 1obj_ij (C - IoU(predicted, truth))^2
///   noobj = lambda_noobj sum_ij 1noobj_ij C^2
///   cls   =              sum_i  1obj_i  sum_c (p(c) - p^(c))^2
///   lambda_coord = 5, lambda_noobj = 0.5
/// </code>
/// A cell is responsible for the object whose centre falls in it (when several do, the largest); of its B
/// predictors, the one whose predicted box has the highest IoU with the object is responsible (1obj_ij; the
/// first on ties, e.g. at the start when no box overlaps); every other predictor is 1noobj_ij. x, y are the
/// centre's offset in the cell, w, h relative to the image; the confidence target is the IoU (not
/// back-propagated through), as the paper defines confidence.
/// </summary>
public sealed class YoloV1Loss(int numClasses, int grid, int boxesPerCell, double lambdaCoord = 5, double lambdaNoObject = 0.5)
{
    public double LambdaCoord { get; } = lambdaCoord;

    public double LambdaNoObject { get; } = lambdaNoObject;

    public IReadOnlyList<(string Name, Tensor Value)> Compute(Tensor output, IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        int n = targets.Count, s = grid, b = boxesPerCell;
        if (output.shape[0] != n || output.shape[1] != s || output.shape[2] != s || output.shape[3] != 5 * b + numClasses)
            throw new ArgumentException($"output [{string.Join(", ", output.shape)}] does not fit {n} images, a {s}x{s} grid, {b} boxes and {numClasses} classes");
        var (hasObject, truth, classes) = Targets(targets, inputSize);
        using var scope = NewDisposeScope();
        var objectMask = tensor(hasObject, [n, s, s]);
        var truthTensor = tensor(truth, [n, s, s, 1, 4]);            // x offset, y offset, sqrt w, sqrt h
        var classTarget = tensor(classes, [n, s, s, numClasses]);

        var boxes = output.narrow(3, 0, 5 * b).view(n, s, s, b, 5);
        var predicted = boxes.narrow(4, 0, 4);
        var confidence = boxes.select(4, 4);
        var probabilities = output.narrow(3, 5 * b, numClasses);

        Tensor responsible, iou;
        using (no_grad())
        {
            var cellsX = arange(s, ScalarType.Float32).view(1, 1, s, 1);
            var cellsY = arange(s, ScalarType.Float32).view(1, s, 1, 1);
            var predictedBoxes = Corners(predicted, cellsX, cellsY, s);
            var truthBoxes = Corners(truthTensor, cellsX, cellsY, s);
            iou = BoxIou.Aligned(predictedBoxes, truthBoxes.expand_as(predictedBoxes)).nan_to_num(0);   // [n, s, s, b]
            var best = iou.argmax(3, keepdim: true);
            responsible = zeros_like(iou).scatter_(3, best, ones_like(best, ScalarType.Float32)) * objectMask.unsqueeze(3);
        }
        var notResponsible = 1 - responsible;
        var coordinates = (predicted - truthTensor).pow(2).sum(4);
        var box = LambdaCoord * (responsible * coordinates).sum();
        var obj = (responsible * (confidence - iou).pow(2)).sum();
        var noObj = LambdaNoObject * (notResponsible * confidence.pow(2)).sum();
        var cls = (objectMask.unsqueeze(3) * (probabilities - classTarget).pow(2)).sum();
        double perImage = 1.0 / Math.Max(1, n);
        return
        [
            ("box", (box * perImage).MoveToOuterDisposeScope()),
            ("obj", (obj * perImage).MoveToOuterDisposeScope()),
            ("noobj", (noObj * perImage).MoveToOuterDisposeScope()),
            ("cls", (cls * perImage).MoveToOuterDisposeScope()),
        ];
    }

    /// <summary>Boxes relative to the image, xyxy, from (x offset, y offset, sqrt w, sqrt h) per cell.</summary>
    static Tensor Corners(Tensor cellBoxes, Tensor cellsX, Tensor cellsY, int s)
    {
        var centreX = (cellBoxes.select(-1, 0) + cellsX) / s;
        var centreY = (cellBoxes.select(-1, 1) + cellsY) / s;
        var halfW = cellBoxes.select(-1, 2).pow(2) / 2;
        var halfH = cellBoxes.select(-1, 3).pow(2) / 2;
        return stack([centreX - halfW, centreY - halfH, centreX + halfW, centreY + halfH], -1);
    }

    /// <summary>The per-cell targets of a batch in plain arrays (one read of each image's boxes and labels).</summary>
    (float[] HasObject, float[] Truth, float[] Classes) Targets(IReadOnlyList<DetectionTarget> targets, ImageSize inputSize)
    {
        int s = grid, cells = s * s;
        var hasObject = new float[targets.Count * cells];
        var truth = new float[targets.Count * cells * 4];
        var classes = new float[targets.Count * cells * numClasses];
        var areas = new float[cells];
        for (int n = 0; n < targets.Count; n++)
        {
            using var boxTensor = targets[n].Boxes.to_type(ScalarType.Float32).cpu().contiguous();
            using var labelTensor = targets[n].Labels.to_type(ScalarType.Int64).cpu().contiguous();
            var boxes = TensorValues.ToArray<float>(boxTensor);
            var labels = TensorValues.ToArray<long>(labelTensor);
            Array.Clear(areas);
            for (int k = 0; k < labels.Length; k++)
            {
                float w = (boxes[4 * k + 2] - boxes[4 * k]) / inputSize.Width, h = (boxes[4 * k + 3] - boxes[4 * k + 1]) / inputSize.Height;
                if (!(w > 0 && h > 0))
                    continue;
                float cx = (boxes[4 * k] + boxes[4 * k + 2]) / 2 / inputSize.Width * s, cy = (boxes[4 * k + 1] + boxes[4 * k + 3]) / 2 / inputSize.Height * s;
                int column = Math.Clamp((int)MathF.Floor(cx), 0, s - 1), row = Math.Clamp((int)MathF.Floor(cy), 0, s - 1);
                int cell = row * s + column;
                if (w * h <= areas[cell])
                    continue;
                areas[cell] = w * h;
                int at = n * cells + cell;
                hasObject[at] = 1;
                (truth[4 * at], truth[4 * at + 1], truth[4 * at + 2], truth[4 * at + 3]) = (cx - column, cy - row, MathF.Sqrt(w), MathF.Sqrt(h));
                classes.AsSpan(at * numClasses, numClasses).Clear();
                classes[at * numClasses + (int)labels[k]] = 1;
            }
        }
        return (hasObject, truth, classes);
    }
}
