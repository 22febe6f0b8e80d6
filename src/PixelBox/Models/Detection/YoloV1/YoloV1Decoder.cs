using PixelBox.Boxes;

namespace PixelBox.Models.Detection.YoloV1;

/// <summary>
/// YOLOv1's test-time decoding (Redmon et al. 2015, sec. 2 and 2.4) in plain C# over the raw output
/// [N, S, S, 5B + C] (no libtorch):
/// <code>
///   box b of cell (i, j):  centre ((j + x) / S, (i + y) / S), size (sqrt_w^2, sqrt_h^2), times the input size,
///                          clipped to the input
///   class-specific confidence of class c:  Pr(class c | object) * confidence, each clamped to [0, 1]
///                          (the network's outputs are linear, as in the paper)
///   per class: above ScoreThreshold, the CandidatesPerClass highest; NMS within each class at NmsIou
///   (across classes when ClassAgnosticNms); the MaxDetections highest
/// </code>
/// </summary>
public sealed class YoloV1Decoder(int numClasses, int grid, int boxesPerCell) : IDetectionDecoder
{
    public IReadOnlyList<ImageDetections> Decode(IReadOnlyList<RawOutput> outputs, ImageSize inputSize, DetectionSettings settings)
    {
        int values = 5 * boxesPerCell + numClasses;
        if (outputs.Count != 1 || outputs[0].Shape.Length != 4 || outputs[0].Shape[1] != grid || outputs[0].Shape[2] != grid || outputs[0].Shape[3] != values)
            throw new ArgumentException($"YOLOv1 decodes one raw output [N, {grid}, {grid}, {values}], got " +
                                        string.Join(", ", outputs.Select(o => $"[{string.Join(", ", o.Shape)}]")));
        var data = outputs[0].Values;
        int images = (int)outputs[0].Shape[0], cells = grid * grid;
        if (data.LongLength != (long)images * cells * values)
            throw new ArgumentException($"the raw output holds {data.Length} values, not {images} x {cells} x {values}");
        var result = new ImageDetections[images];
        for (int n = 0; n < images; n++)
            result[n] = DecodeImage(data.AsSpan(n * cells * values, cells * values), inputSize, settings);
        return result;
    }

    ImageDetections DecodeImage(ReadOnlySpan<float> cellsData, ImageSize inputSize, DetectionSettings settings)
    {
        int values = 5 * boxesPerCell + numClasses, cells = grid * grid;
        float threshold = (float)settings.ScoreThreshold;
        var perClass = new List<(float Score, int Predictor)>[numClasses];
        for (int c = 0; c < numClasses; c++)
            perClass[c] = [];
        for (int cell = 0; cell < cells; cell++)
        {
            var v = cellsData.Slice(cell * values, values);
            for (int b = 0; b < boxesPerCell; b++)
            {
                float confidence = Math.Clamp(v[5 * b + 4], 0f, 1f);
                if (confidence == 0)
                    continue;
                for (int c = 0; c < numClasses; c++)
                {
                    float score = Math.Clamp(v[5 * boxesPerCell + c], 0f, 1f) * confidence;
                    if (score > threshold)
                        perClass[c].Add((score, cell * boxesPerCell + b));
                }
            }
        }
        var boxes = new List<float>();
        var scores = new List<float>();
        var labels = new List<long>();
        for (int c = 0; c < numClasses; c++)
        {
            var list = perClass[c];
            list.Sort((x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : x.Predictor.CompareTo(y.Predictor));
            for (int k = 0; k < Math.Min(list.Count, settings.CandidatesPerClass); k++)
            {
                int predictor = list[k].Predictor, cell = predictor / boxesPerCell, b = predictor % boxesPerCell;
                var v = cellsData.Slice(cell * values + 5 * b, 4);
                int row = cell / grid, column = cell % grid;
                float cx = (column + v[0]) / grid * inputSize.Width, cy = (row + v[1]) / grid * inputSize.Height;
                float halfW = v[2] * v[2] * inputSize.Width / 2, halfH = v[3] * v[3] * inputSize.Height / 2;
                boxes.AddRange([
                    Math.Clamp(cx - halfW, 0f, inputSize.Width), Math.Clamp(cy - halfH, 0f, inputSize.Height),
                    Math.Clamp(cx + halfW, 0f, inputSize.Width), Math.Clamp(cy + halfH, 0f, inputSize.Height)]);
                scores.Add(list[k].Score);
                labels.Add(c);
            }
        }
        var boxArray = boxes.ToArray();
        var scoreArray = scores.ToArray();
        var labelArray = labels.ToArray();
        var keep = settings.ClassAgnosticNms
            ? Nms.Keep(boxArray, scoreArray, settings.NmsIou)
            : Nms.KeepPerClass(boxArray, scoreArray, labelArray, settings.NmsIou);
        return ImageDetections.FromKept(keep, boxArray, scoreArray, labelArray, settings.MaxDetections);
    }
}
