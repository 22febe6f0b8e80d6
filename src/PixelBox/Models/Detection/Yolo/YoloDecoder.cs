using System.Numerics;
using PixelBox.Boxes;

namespace PixelBox.Models.Detection.Yolo;

/// <summary>
/// Turns YOLOv8's raw outputs into detections in plain C# over spans (no libtorch, so ONNX Runtime outputs
/// decode the same way). Per image:
/// <code>
///   for every level (stride s = input side / map side), cell (i, j) and class c:
///     score = sigmoid(class logit)                      kept when score &gt; score threshold
///   per class, the CandidatesPerClass highest scores
///   box of a kept cell: each side's distance d = sum_k k softmax(logits of that side)_k  (in cells),
///     (x1, y1, x2, y2) = ((j + 0.5 - d_left) s, (i + 0.5 - d_top) s, (j + 0.5 + d_right) s, (i + 0.5 + d_bottom) s)
///     clipped to the input image
///   NMS within each class (or across classes when ClassAgnosticNms) at NmsIou, torchvision's semantics
///   the MaxDetections highest scores, highest first
/// </code>
/// A cell may give detections of several classes (multi-label, as ultralytics' validation and torchvision's
/// one-stage detectors decode), which is what COCO AP rewards. The score test is "greater than", as in
/// ultralytics and torchvision.
/// </summary>
public sealed class YoloDecoder(int numClasses, int bins) : IDetectionDecoder
{
    public int NumClasses { get; } = numClasses;

    public int Bins { get; } = bins;

    public IReadOnlyList<ImageDetections> Decode(IReadOnlyList<RawOutput> outputs, ImageSize inputSize, DetectionSettings settings)
    {
        var levels = Levels(outputs, inputSize);
        int images = (int)outputs[0].Shape[0];
        var result = new ImageDetections[images];
        for (int n = 0; n < images; n++)
            result[n] = DecodeImage(levels, n, inputSize, settings);
        return result;
    }

    /// <summary>One output level: its values, map size and stride.</summary>
    readonly record struct Level(float[] Values, int Height, int Width, float Stride)
    {
        public int Cells => Height * Width;
    }

    Level[] Levels(IReadOnlyList<RawOutput> outputs, ImageSize inputSize)
    {
        if (outputs.Count == 0)
            throw new ArgumentException("no raw outputs to decode");
        long channels = 4L * Bins + NumClasses;
        var levels = new Level[outputs.Count];
        for (int i = 0; i < outputs.Count; i++)
        {
            var shape = outputs[i].Shape;
            if (shape.Length != 4 || shape[1] != channels || shape[0] != outputs[0].Shape[0] || shape[2] < 1 || shape[3] < 1)
                throw new ArgumentException($"raw output {i} has shape [{string.Join(", ", shape)}]; expected [N, {channels}, H, W] with the same N for every level");
            if (outputs[i].Values.LongLength != shape[0] * shape[1] * shape[2] * shape[3])
                throw new ArgumentException($"raw output {i} holds {outputs[i].Values.Length} values, not the {string.Join("x", shape)} of its shape");
            int height = (int)shape[2], width = (int)shape[3];
            if (inputSize.Height % height != 0 || inputSize.Width % width != 0 || inputSize.Height / height != inputSize.Width / width)
                throw new ArgumentException($"raw output {i} ({height}x{width}) is not a whole-stride map of the {inputSize.Height}x{inputSize.Width} input");
            levels[i] = new Level(outputs[i].Values, height, width, inputSize.Height / height);
        }
        return levels;
    }

    ImageDetections DecodeImage(Level[] levels, int image, ImageSize inputSize, DetectionSettings settings)
    {
        int channels = 4 * Bins + NumClasses;
        float threshold = (float)settings.ScoreThreshold;
        // sigmoid(x) > t needs x > logit(t); a small margin keeps every float that might pass, the exact test follows
        float logitBound = threshold <= 0 ? float.NegativeInfinity
            : threshold >= 1 ? float.PositiveInfinity
            : MathF.Log(threshold / (1 - threshold)) - 1e-3f;
        var perClass = new List<(float Score, int Level, int Cell)>[NumClasses];
        for (int c = 0; c < NumClasses; c++)
        {
            var candidates = perClass[c] = [];
            for (int l = 0; l < levels.Length; l++)
            {
                var level = levels[l];
                int cells = level.Cells;
                var logits = level.Values.AsSpan((image * channels + 4 * Bins + c) * cells, cells);
                CollectAbove(logits, logitBound, threshold, l, candidates);
            }
            if (candidates.Count > settings.CandidatesPerClass)
            {
                // highest first; ties by level and cell so the choice does not depend on the sort
                candidates.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : a.Level != b.Level ? a.Level.CompareTo(b.Level) : a.Cell.CompareTo(b.Cell));
                candidates.RemoveRange(settings.CandidatesPerClass, candidates.Count - settings.CandidatesPerClass);
            }
        }

        int total = perClass.Sum(c => c.Count);
        if (total == 0)
            return new ImageDetections([]);
        var boxes = new float[4 * total];
        var scores = new float[total];
        var labels = new long[total];
        var decoded = new Dictionary<(int Level, int Cell), int>();
        int k = 0;
        for (int c = 0; c < NumClasses; c++)
        {
            foreach (var (score, l, cell) in perClass[c])
            {
                if (!decoded.TryGetValue((l, cell), out int first))
                {
                    decoded[(l, cell)] = k;
                    DecodeBox(levels[l], image, channels, cell, inputSize, boxes.AsSpan(4 * k, 4));
                }
                else
                    boxes.AsSpan(4 * first, 4).CopyTo(boxes.AsSpan(4 * k, 4));
                scores[k] = score;
                labels[k] = c;
                k++;
            }
        }

        var keep = settings.ClassAgnosticNms
            ? Nms.Keep(boxes, scores, settings.NmsIou)
            : Nms.KeepPerClass(boxes, scores, labels, settings.NmsIou);
        return ImageDetections.FromKept(keep, boxes, scores, labels, settings.MaxDetections);
    }

    /// <summary>Appends the cells whose sigmoid score is above <paramref name="threshold"/>, skipping blocks of
    /// logits that are all at or below the bound with SIMD (most cells of a trained model score near 0).</summary>
    static void CollectAbove(ReadOnlySpan<float> logits, float bound, float threshold, int level, List<(float, int, int)> into)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && logits.Length >= Vector<float>.Count)
        {
            var limit = new Vector<float>(bound);
            for (; i <= logits.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                if (!Vector.GreaterThanAny(new Vector<float>(logits.Slice(i, Vector<float>.Count)), limit))
                    continue;
                for (int j = i; j < i + Vector<float>.Count; j++)
                    Consider(logits[j], j);
            }
        }
        for (; i < logits.Length; i++)
            Consider(logits[i], i);

        void Consider(float logit, int cell)
        {
            if (!(logit > bound))
                return;
            float score = Sigmoid(logit);
            if (score > threshold)
                into.Add((score, level, cell));
        }
    }

    static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    /// <summary>The box of one cell: expected side distances (softmax over bins) around the cell centre, in input pixels, clipped.</summary>
    void DecodeBox(Level level, int image, int channels, int cell, ImageSize inputSize, Span<float> box)
    {
        int cells = level.Cells;
        int row = cell / level.Width, column = cell - row * level.Width;
        float cx = column + 0.5f, cy = row + 0.5f;
        Span<float> distance = stackalloc float[4];
        var values = level.Values;
        for (int side = 0; side < 4; side++)
        {
            int start = (image * channels + side * Bins) * cells + cell;
            float max = float.NegativeInfinity;
            for (int b = 0; b < Bins; b++)
                max = MathF.Max(max, values[start + b * cells]);
            float sum = 0, weighted = 0;
            for (int b = 0; b < Bins; b++)
            {
                float e = MathF.Exp(values[start + b * cells] - max);
                sum += e;
                weighted += b * e;
            }
            distance[side] = weighted / sum;
        }
        float s = level.Stride;
        box[0] = Math.Clamp((cx - distance[0]) * s, 0, inputSize.Width);
        box[1] = Math.Clamp((cy - distance[1]) * s, 0, inputSize.Height);
        box[2] = Math.Clamp((cx + distance[2]) * s, 0, inputSize.Width);
        box[3] = Math.Clamp((cy + distance[3]) * s, 0, inputSize.Height);
    }
}
