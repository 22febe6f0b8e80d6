using System.Collections.Concurrent;
using PixelBox.Boxes;

namespace PixelBox.Models.Detection.Ssd;

/// <summary>
/// torchvision's SSD.postprocess_detections in plain C# over the raw outputs (no libtorch, so ONNX Runtime
/// outputs decode the same way), with the same float32 operations in the same order where the order matters:
/// <code>
///   default boxes of the input size and map sizes (DefaultBoxGenerator.GenerateValues)
///   box of default box a:  (dx, dy, dw, dh) = codes / (10, 10, 5, 5), dw, dh clamped at log(1000 / 16);
///                          centre = d * size_a + centre_a, size = exp(d) * size_a; clipped to the input
///   scores of a:           softmax over background + classes (max subtracted, times 1 / sum)
///   per class c:           scores &gt; ScoreThreshold, the CandidatesPerClass highest (ties: lower box index)
///   class-wise NMS at NmsIou over all candidates (torchvision's batched_nms), the MaxDetections first
/// </code>
/// Exponentials are .NET's, not libtorch's vectorised ones, so scores and box sizes may differ from
/// torchvision's in the last bit; everything else is bit-identical. Labels are torchvision's minus one.
/// </summary>
public sealed class SsdDecoder(int numClasses, DefaultBoxGenerator defaultBoxes, BoxCoder coder) : IDetectionDecoder
{
    readonly ConcurrentDictionary<string, float[]> anchorCache = new();

    public int NumClasses { get; } = numClasses;

    public IReadOnlyList<ImageDetections> Decode(IReadOnlyList<RawOutput> outputs, ImageSize inputSize, DetectionSettings settings)
    {
        var levels = Levels(outputs);
        var grid = levels.Select(l => new GridSize(l.Height, l.Width)).ToList();
        var key = $"{inputSize.Height}x{inputSize.Width}:{string.Join(",", grid.Select(g => $"{g.Height}x{g.Width}"))}";
        var anchors = anchorCache.GetOrAdd(key, _ => defaultBoxes.GenerateValues(inputSize.Height, inputSize.Width, grid));
        int images = (int)outputs[0].Shape[0];
        var result = new ImageDetections[images];
        for (int n = 0; n < images; n++)
            result[n] = DecodeImage(levels, anchors, n, inputSize, settings);
        return result;
    }

    /// <summary>One map's raw outputs: box codes [N, 4 A, H, W] and logits [N, (classes + 1) A, H, W].</summary>
    readonly record struct Level(float[] Codes, float[] Logits, int Anchors, int Height, int Width, int First)
    {
        public int Cells => Height * Width;
        public int Boxes => Cells * Anchors;
    }

    Level[] Levels(IReadOnlyList<RawOutput> outputs)
    {
        var perCell = defaultBoxes.NumAnchorsPerLocation();
        if (outputs.Count != 2 * perCell.Length)
            throw new ArgumentException($"{outputs.Count} raw outputs; SSD with {perCell.Length} maps gives {2 * perCell.Length} (box codes, then logits, per map)");
        var levels = new Level[perCell.Length];
        long images = outputs[0].Shape.Length == 4 ? outputs[0].Shape[0] : -1;
        int first = 0;
        for (int l = 0; l < perCell.Length; l++)
        {
            var (codes, logits) = (outputs[l], outputs[perCell.Length + l]);
            int a = perCell[l];
            Check(codes, 4L * a, l);
            Check(logits, (NumClasses + 1L) * a, perCell.Length + l);
            if (codes.Shape[2] != logits.Shape[2] || codes.Shape[3] != logits.Shape[3])
                throw new ArgumentException($"map {l}: box codes {codes.Shape[2]}x{codes.Shape[3]} but logits {logits.Shape[2]}x{logits.Shape[3]}");
            levels[l] = new Level(codes.Values, logits.Values, a, (int)codes.Shape[2], (int)codes.Shape[3], first);
            first += levels[l].Boxes;
        }
        return levels;

        void Check(RawOutput output, long channels, int index)
        {
            var shape = output.Shape;
            if (shape.Length != 4 || shape[0] != images || shape[1] != channels || shape[2] < 1 || shape[3] < 1)
                throw new ArgumentException($"raw output {index} has shape [{string.Join(", ", shape)}]; expected [N, {channels}, H, W] with the same N for every output");
            if (output.Values.LongLength != shape[0] * shape[1] * shape[2] * shape[3])
                throw new ArgumentException($"raw output {index} holds {output.Values.Length} values, not the {string.Join("x", shape)} of its shape");
        }
    }

    ImageDetections DecodeImage(Level[] levels, float[] anchors, int image, ImageSize inputSize, DetectionSettings settings)
    {
        int total = levels.Sum(l => l.Boxes);
        int classes = NumClasses + 1;
        // scores[c * total + box] for c = 1..classes-1 (background's row unused), boxes decoded lazily
        var scores = new float[classes * total];
        foreach (var level in levels)
            Softmax(level, image, classes, total, scores);

        float threshold = (float)settings.ScoreThreshold;
        var candidates = new List<(int Box, int Label)>();
        var perClass = new List<(float Score, int Box)>();
        var chosenScores = new List<float>();
        for (int c = 1; c < classes; c++)
        {
            perClass.Clear();
            var row = scores.AsSpan(c * total, total);
            for (int b = 0; b < total; b++)
                if (row[b] > threshold)
                    perClass.Add((row[b], b));
            // torch.topk(k) with k = min(candidates, n): the k highest, highest first
            perClass.Sort((x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : x.Box.CompareTo(y.Box));
            int k = Math.Min(settings.CandidatesPerClass, perClass.Count);
            for (int i = 0; i < k; i++)
            {
                candidates.Add((perClass[i].Box, c - 1));
                chosenScores.Add(perClass[i].Score);
            }
        }
        if (candidates.Count == 0)
            return new ImageDetections([]);

        var boxes = new float[4 * candidates.Count];
        var labels = new long[candidates.Count];
        var decoded = new Dictionary<int, int>();
        for (int i = 0; i < candidates.Count; i++)
        {
            var (box, label) = candidates[i];
            labels[i] = label;
            if (decoded.TryGetValue(box, out int earlier))
            {
                boxes.AsSpan(4 * earlier, 4).CopyTo(boxes.AsSpan(4 * i, 4));
                continue;
            }
            decoded[box] = i;
            DecodeBox(levels, anchors, image, box, inputSize, boxes.AsSpan(4 * i, 4));
        }
        var scoreArray = chosenScores.ToArray();
        var keep = settings.ClassAgnosticNms
            ? Nms.Keep(boxes, scoreArray, settings.NmsIou)
            : Nms.KeepBatched(boxes, scoreArray, labels, settings.NmsIou);
        return ImageDetections.FromKept(keep, boxes, scoreArray, labels, settings.MaxDetections);
    }

    /// <summary>Softmax over background + classes of every default box of a map, as torch's CPU kernel: max,
    /// exp(x - max), sum, times 1 / sum. Writes scores[c * total + box].</summary>
    static void Softmax(Level level, int image, int classes, int total, float[] scores)
    {
        int cells = level.Cells;
        Span<float> buffer = classes <= 1024 ? stackalloc float[classes] : new float[classes];
        for (int a = 0; a < level.Anchors; a++)
        {
            int channel0 = (image * level.Anchors + a) * classes; // logits channel of (a, class 0)
            for (int cell = 0; cell < cells; cell++)
            {
                float max = float.NegativeInfinity;
                for (int c = 0; c < classes; c++)
                    max = MathF.Max(max, level.Logits[(channel0 + c) * cells + cell]);
                float sum = 0;
                for (int c = 0; c < classes; c++)
                    sum += buffer[c] = MathF.Exp(level.Logits[(channel0 + c) * cells + cell] - max);
                float inverse = 1 / sum;
                int box = level.First + cell * level.Anchors + a;
                for (int c = 1; c < classes; c++)
                    scores[c * total + box] = buffer[c] * inverse;
            }
        }
    }

    /// <summary>torchvision's BoxCoder.decode_single (weights 10, 10, 5, 5) of one default box, clipped to the input.</summary>
    void DecodeBox(Level[] levels, float[] anchors, int image, int box, ImageSize inputSize, Span<float> output)
    {
        int l = 0;
        while (box >= levels[l].First + levels[l].Boxes)
            l++;
        var level = levels[l];
        int local = box - level.First, cells = level.Cells;
        int cell = local / level.Anchors, a = local - cell * level.Anchors;
        int channel0 = (image * level.Anchors + a) * 4;
        float Code(int j) => level.Codes[(channel0 + j) * cells + cell];

        float ax1 = anchors[4 * box], ay1 = anchors[4 * box + 1], ax2 = anchors[4 * box + 2], ay2 = anchors[4 * box + 3];
        float width = ax2 - ax1, height = ay2 - ay1;
        float centreX = ax1 + 0.5f * width, centreY = ay1 + 0.5f * height;
        float clip = (float)coder.BboxXformClip;
        float dx = Code(0) / (float)coder.Wx, dy = Code(1) / (float)coder.Wy;
        float dw = MathF.Min(Code(2) / (float)coder.Ww, clip), dh = MathF.Min(Code(3) / (float)coder.Wh, clip);
        float predX = dx * width + centreX, predY = dy * height + centreY;
        float predW = MathF.Exp(dw) * width, predH = MathF.Exp(dh) * height;
        float halfW = 0.5f * predW, halfH = 0.5f * predH;
        output[0] = Math.Clamp(predX - halfW, 0f, inputSize.Width);
        output[1] = Math.Clamp(predY - halfH, 0f, inputSize.Height);
        output[2] = Math.Clamp(predX + halfW, 0f, inputSize.Width);
        output[3] = Math.Clamp(predY + halfH, 0f, inputSize.Height);
    }
}
