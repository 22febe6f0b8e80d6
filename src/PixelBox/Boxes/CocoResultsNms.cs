using System.Globalization;
using System.Text;
using System.Text.Json;
using PixelBox.Coco;

namespace PixelBox.Boxes;

/// <summary>What <see cref="CocoResultsNms"/> does to each image's results.</summary>
public enum ResultsNmsMethod
{
    /// <summary>Standard NMS (torchvision.ops.nms).</summary>
    Nms,

    /// <summary>Soft-NMS, linear decay.</summary>
    SoftLinear,

    /// <summary>Soft-NMS, Gaussian decay.</summary>
    SoftGaussian,

    /// <summary>Weighted boxes fusion (one model per input file).</summary>
    Wbf,
}

/// <summary>Options of <see cref="CocoResultsNms.Run"/>.</summary>
public sealed record ResultsNmsOptions
{
    public ResultsNmsMethod Method { get; init; } = ResultsNmsMethod.Nms;
    /// <summary>IoU above which boxes suppress / decay / fuse each other.</summary>
    public double IouThreshold { get; init; } = 0.5;
    /// <summary>One pass over all of an image's results instead of one per category.</summary>
    public bool ClassAgnostic { get; init; }
    /// <summary>Results scoring below this are dropped first (and, for Soft-NMS, when decayed below it); null: none (Soft-NMS: 0.001).</summary>
    public double? ScoreThreshold { get; init; }
    /// <summary>Gaussian Soft-NMS width.</summary>
    public double Sigma { get; init; } = 0.5;
    /// <summary>At most this many results per image, the best kept; null: no limit.</summary>
    public int? MaxDetections { get; init; }
    /// <summary>WBF: one weight per input file; null: all 1.</summary>
    public IReadOnlyList<double>? Weights { get; init; }
    public WbfConfidence Confidence { get; init; } = WbfConfidence.Avg;
}

/// <summary>Counts for the command's summary line.</summary>
public sealed record ResultsNmsSummary(int Files, int ResultsIn, int Images, int ResultsOut);

/// <summary>
/// Filters or fuses COCO results files (`pixelbox nms`): every file read as `eval coco` reads it (same
/// checks and messages), the results pooled, then per image and, unless class-agnostic, per category:
/// <list type="bullet">
/// <item>nms: torchvision.ops.nms on the image's results of each category, boxes as float32 xyxy
/// (x, y, x + w, y + h computed in float32, as box_convert on a float32 tensor), scores as float32;
/// each kept record is written back byte for byte as it was in its file.</item>
/// <item>soft-linear / soft-gaussian: <see cref="SoftNms"/> in float64 (Nt = the IoU threshold); a record
/// whose score changed gets the new score (shortest round-trip decimal) and is otherwise unchanged.</item>
/// <item>wbf: <see cref="WeightedBoxesFusion"/> with one model per file; a box fused from one record is
/// that record (score rescaled if it changed), a fused box of several is a new record
/// {image_id, category_id (its best member's), bbox, score}.</item>
/// </list>
/// Output: one JSON list, images in order of first appearance, each image's results by decreasing
/// score, written atomically. The output may not be one of the inputs.
/// </summary>
public static class CocoResultsNms
{
    public static ResultsNmsSummary Run(IReadOnlyList<string> inputs, string output, ResultsNmsOptions options)
    {
        Validate(inputs, output, options);
        var files = inputs.Select(Load).ToArray();
        var records = Pool(files);
        int resultsIn = records.Count;
        if (options.ScoreThreshold is double t)
            records = records.Where(r => r.Score >= t).ToList();
        var images = new Dictionary<long, List<Record>>();
        var imageOrder = new List<long>();
        foreach (var r in records)
        {
            if (!images.TryGetValue(r.ImageId, out var list))
            {
                images[r.ImageId] = list = [];
                imageOrder.Add(r.ImageId);
            }
            list.Add(r);
        }
        var outputs = new List<Output>();
        foreach (var id in imageOrder)
        {
            var kept = options.Method switch
            {
                ResultsNmsMethod.Nms => HardNms(images[id], options),
                ResultsNmsMethod.Wbf => Fuse(images[id], options, files.Length),
                _ => Soft(images[id], options),
            };
            if (options.MaxDetections is int max && kept.Count > max)
                kept = kept.GetRange(0, max);
            outputs.AddRange(kept);
        }
        AtomicFile.Write(output, stream => Write(stream, outputs, files));
        return new ResultsNmsSummary(files.Length, resultsIn, imageOrder.Count, outputs.Count);
    }

    static void Validate(IReadOnlyList<string> inputs, string output, ResultsNmsOptions options)
    {
        if (inputs.Count == 0)
            throw new InputException("--dt: at least one results file is needed");
        var outFull = FinalPath(output);
        foreach (var input in inputs)
            if (string.Equals(FinalPath(input), outFull, StringComparison.Ordinal))
                throw new InputException(output, $"--out is also an input ({input}); write the filtered results to another file");
        if (!(options.IouThreshold >= 0 && options.IouThreshold <= 1))
            throw new InputException($"--iou: {options.IouThreshold.ToString(CultureInfo.InvariantCulture)} is not between 0 and 1");
        if (options.ScoreThreshold is double s && !double.IsFinite(s))
            throw new InputException("--score-threshold: must be a finite number");
        if (!(options.Sigma > 0) || !double.IsFinite(options.Sigma))
            throw new InputException("--sigma: must be a positive number");
        if (options.MaxDetections is < 1)
            throw new InputException("--max-dets: must be at least 1");
        if (options.Weights is { } w)
        {
            if (w.Count != inputs.Count)
                throw new InputException($"--weights: {w.Count} weight(s) for {inputs.Count} results file(s); give one per --dt file");
            if (w.Any(x => !(x >= 0) || !double.IsFinite(x)) || w.Sum() <= 0)
                throw new InputException("--weights: weights must be finite, non-negative and not all 0");
        }
    }

    /// <summary>The absolute path with symbolic links resolved, so that a link to an input counts as the input.</summary>
    static string FinalPath(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            if (File.Exists(full) && File.ResolveLinkTarget(full, returnFinalTarget: true) is { } target)
                return Path.GetFullPath(target.FullName);
        }
        catch (IOException)
        {
        }
        return full;
    }

    // ------------------------------------------------------------------------------------ reading

    sealed record InputFile(string Path, byte[] Bytes, CocoDetections Detections, RecordText[] Texts);

    /// <summary>Where a record is in its file: [Start, End), and its score's number [ScoreStart, ScoreEnd).</summary>
    readonly record struct RecordText(int Start, int End, int ScoreStart, int ScoreEnd);

    sealed record Record(int File, int Index, long ImageId, long CategoryId, double Score, double X, double Y, double W, double H);

    static InputFile Load(string path)
    {
        var detections = CocoJson.ReadDetections(path, CocoIouType.Bbox);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(path, "cannot read the file: " + e.Message, e);
        }
        var texts = RecordTexts(bytes);
        if (texts.Length != detections.Count)
            throw new InputException(path, "the file changed while it was being read");
        return new InputFile(path, bytes, detections, texts);
    }

    /// <summary>The byte ranges of the records of a results list that the COCO reader has already accepted.</summary>
    static RecordText[] RecordTexts(byte[] bytes)
    {
        int bom = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        var reader = new Utf8JsonReader(bytes.AsSpan(bom), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var list = new List<RecordText>();
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            int start = (int)reader.TokenStartIndex + bom, scoreStart = -1, scoreEnd = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isScore = reader.ValueTextEquals("score"u8);
                reader.Read();
                if (isScore)
                    (scoreStart, scoreEnd) = ((int)reader.TokenStartIndex + bom, (int)reader.TokenStartIndex + bom + reader.ValueSpan.Length);
                else
                    reader.Skip();
            }
            list.Add(new RecordText(start, (int)reader.TokenStartIndex + bom + 1, scoreStart, scoreEnd));
        }
        return list.ToArray();
    }

    static List<Record> Pool(InputFile[] files)
    {
        var records = new List<Record>();
        for (int f = 0; f < files.Length; f++)
        {
            var d = files[f].Detections;
            for (int i = 0; i < d.Count; i++)
                records.Add(new Record(f, i, d.ImageId[i], d.CategoryId[i], d.Score[i],
                    d.Box[4 * i], d.Box[4 * i + 1], d.Box[4 * i + 2], d.Box[4 * i + 3]));
        }
        return records;
    }

    // ---------------------------------------------------------------------------------- methods

    /// <summary>An output record: a source record (with a new score, or null: as it was), or a fused box.</summary>
    sealed record Output(double Score, Record? Source, double? NewScore, WbfCluster? Fused, Record? FusedFirst);

    static List<Output> HardNms(List<Record> image, ResultsNmsOptions options)
    {
        int n = image.Count;
        var boxes = new float[4 * n];
        var scores = new float[n];
        var classes = new long[n];
        for (int i = 0; i < n; i++)
        {
            var r = image[i];
            float x = (float)r.X, y = (float)r.Y;
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (x, y, x + (float)r.W, y + (float)r.H);
            scores[i] = (float)r.Score;
            classes[i] = r.CategoryId;
        }
        var keep = options.ClassAgnostic
            ? Nms.Keep(boxes, scores, options.IouThreshold)
            : Nms.KeepPerClass(boxes, scores, classes, options.IouThreshold);
        return keep.Select(i => new Output(image[i].Score, image[i], null, null, null)).ToList();
    }

    static List<Output> Soft(List<Record> image, ResultsNmsOptions options)
    {
        var method = options.Method == ResultsNmsMethod.SoftLinear ? SoftNmsMethod.Linear : SoftNmsMethod.Gaussian;
        var outputs = new List<Output>();
        foreach (var group in Groups(image, options.ClassAgnostic))
        {
            int n = group.Count;
            var boxes = new double[4 * n];
            var scores = new double[n];
            for (int i = 0; i < n; i++)
            {
                var r = group[i];
                (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (r.X, r.Y, r.X + r.W, r.Y + r.H);
                scores[i] = r.Score;
            }
            foreach (var s in SoftNms.Run<double>(boxes, scores, method, options.IouThreshold, options.Sigma, options.ScoreThreshold ?? 0.001))
            {
                var r = group[s.Index];
                outputs.Add(new Output(s.Score, r, s.Score.Equals(r.Score) ? null : s.Score, null, null));
            }
        }
        return ByScore(outputs);
    }

    static List<Output> Fuse(List<Record> image, ResultsNmsOptions options, int files)
    {
        var boxes = image.Select(r => new WbfBox(r.X, r.Y, r.X + r.W, r.Y + r.H, r.Score, options.ClassAgnostic ? 0 : r.CategoryId, r.File)).ToArray();
        var weights = options.Weights ?? Enumerable.Repeat(1.0, files).ToArray();
        var outputs = new List<Output>();
        foreach (var c in WeightedBoxesFusion.Fuse(boxes, weights, options.IouThreshold, options.ScoreThreshold ?? 0.0, options.Confidence))
        {
            var first = image[c.Members[0]];
            outputs.Add(c.Members.Length == 1
                ? new Output(c.Score, first, c.Score.Equals(first.Score) ? null : c.Score, null, null)
                : new Output(c.Score, null, null, c, first));
        }
        return ByScore(outputs);
    }

    /// <summary>An image's records by category (in order of first appearance), or all together.</summary>
    static IEnumerable<List<Record>> Groups(List<Record> image, bool classAgnostic)
    {
        if (classAgnostic)
        {
            yield return image;
            yield break;
        }
        var groups = new Dictionary<long, List<Record>>();
        var order = new List<long>();
        foreach (var r in image)
        {
            if (!groups.TryGetValue(r.CategoryId, out var list))
            {
                groups[r.CategoryId] = list = [];
                order.Add(r.CategoryId);
            }
            list.Add(r);
        }
        foreach (var c in order)
            yield return groups[c];
    }

    /// <summary>Decreasing score, stable.</summary>
    static List<Output> ByScore(List<Output> outputs) => outputs.OrderByDescending(o => o.Score).ToList();

    // ---------------------------------------------------------------------------------- writing

    static void Write(Stream stream, List<Output> outputs, InputFile[] files)
    {
        stream.Write("["u8);
        for (int k = 0; k < outputs.Count; k++)
        {
            stream.Write(k == 0 ? "\n"u8 : ",\n"u8);
            var o = outputs[k];
            if (o.Source is { } r)
            {
                var file = files[r.File];
                var text = file.Texts[r.Index];
                if (o.NewScore is double score)
                {
                    stream.Write(file.Bytes, text.Start, text.ScoreStart - text.Start);
                    stream.Write(Encoding.UTF8.GetBytes(Number(score)));
                    stream.Write(file.Bytes, text.ScoreEnd, text.End - text.ScoreEnd);
                }
                else
                    stream.Write(file.Bytes, text.Start, text.End - text.Start);
            }
            else
            {
                var c = o.Fused!;
                var first = o.FusedFirst!;
                var json = $"{{\"image_id\": {first.ImageId.ToString(CultureInfo.InvariantCulture)}, " +
                           $"\"category_id\": {first.CategoryId.ToString(CultureInfo.InvariantCulture)}, " +
                           $"\"bbox\": [{Number(c.X1)}, {Number(c.Y1)}, {Number(c.X2 - c.X1)}, {Number(c.Y2 - c.Y1)}], " +
                           $"\"score\": {Number(c.Score)}}}";
                stream.Write(Encoding.UTF8.GetBytes(json));
            }
        }
        stream.Write(outputs.Count == 0 ? "]\n"u8 : "\n]\n"u8);
    }

    /// <summary>The shortest decimal that reads back as the same double.</summary>
    static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
