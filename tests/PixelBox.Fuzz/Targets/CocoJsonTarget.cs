using System.Text;
using PixelBox.Coco;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// The COCO readers. Every input is read as a results file and as a ground truth by each reader: the fast
/// scanner (whole, and split in 64-byte chunks on all cores), the Utf8JsonReader parser, and its chunked
/// variant. The fast readers may decline (null) but must never disagree with the general parser: when one
/// returns data, the parser must return the same data (bit for bit), so a user gets the same numbers or
/// the same one-line error whichever path reads the file. An input holding "\n#DT#\n" is a pair (ground
/// truth, then results) that is also cross-checked, rasterised and evaluated, for bbox and segm.
/// </summary>
static class CocoJsonTarget
{
    const string File = "fuzz.json";
    static readonly byte[] PairSeparator = "\n#DT#\n"u8.ToArray();

    public static FuzzTarget Create() => new()
    {
        Name = "coco-json",
        Checks = "COCO results/GT: fast reader == Utf8JsonReader parser (data or error), chunked == sequential, one-line errors; pairs evaluated",
        Run = Run,
        Dictionary = Tokens(),
    };

    static void Run(byte[] input)
    {
        int split = input.AsSpan().IndexOf(PairSeparator);
        if (split < 0)
        {
            ReadBoth(input);
            return;
        }
        byte[] gt = input[..split], dt = input[(split + PairSeparator.Length)..];
        ReadBoth(gt);
        ReadBoth(dt);
        Evaluate(gt, dt);
    }

    /// <summary>Reads the bytes as results and as a ground truth by every path, checking that the paths agree.</summary>
    static void ReadBoth(byte[] bytes)
    {
        var (dt, dtError) = Try(() => CocoJson.ParseDetections(bytes, File, CocoIouType.Bbox));
        Agree("fast results reader", CocoFastJson.TryReadDetections(bytes, File), dt, dtError);
        Agree("fast results reader in 64-byte chunks", CocoFastJson.TryReadDetections(bytes, File, chunkBytes: 64), dt, dtError);
        Agree("chunked results parser", CocoJson.TryParseChunked(bytes, File, segm: false), dt, dtError);
        var (segm, segmError) = Try(() => CocoJson.ParseDetections(bytes, File, CocoIouType.Segm));
        Agree("chunked results parser (segm)", CocoJson.TryParseChunked(bytes, File, segm: true), segm, segmError);

        var (gt, gtError) = Try(() => CocoJson.ParseGroundTruth(bytes, File, CocoIouType.Bbox));
        var fastGt = CocoFastJson.TryReadGroundTruth(bytes);
        if (fastGt is not null)
        {
            if (gt is null)
                throw new PropertyViolation($"the fast ground-truth reader read what the parser refuses ({gtError!.Message})");
            if (Describe(fastGt) != Describe(gt))
                throw new PropertyViolation($"the fast ground-truth reader and the parser disagree:\n{Describe(fastGt)}\n{Describe(gt)}");
        }
        Try(() => CocoJson.ParseGroundTruth(bytes, File, CocoIouType.Segm));
    }

    /// <summary>A ground truth and results read together, checked, masks made, evaluated: only one-line errors.</summary>
    static void Evaluate(byte[] gtBytes, byte[] dtBytes)
    {
        foreach (var iouType in new[] { CocoIouType.Bbox, CocoIouType.Segm })
        {
            Try(() =>
            {
                var gt = CocoJson.ParseGroundTruth(gtBytes, "gt.json", iouType);
                var dt = CocoJson.ParseDetections(dtBytes, "dt.json", iouType);
                CocoFiles.Check(gt, "gt.json", dt, "dt.json", iouType);
                if (iouType == CocoIouType.Segm)
                    CocoMasks.Prepare(gt, "gt.json", dt, "dt.json");
                var evaluator = new CocoEvaluator(gt, dt, new CocoParams { IouType = iouType });
                var summary = evaluator.Evaluate().Accumulate().Summarize();
                return summary;
            });
        }
    }

    static void Agree(string path, CocoDetections? fast, CocoDetections? parsed, Exception? parseError)
    {
        if (fast is null)
            return;
        if (parsed is null)
            throw new PropertyViolation($"the {path} read what the parser refuses ({parseError!.Message})");
        if (Describe(fast) != Describe(parsed))
            throw new PropertyViolation($"the {path} and the parser disagree:\n{Describe(fast)}\n{Describe(parsed)}");
    }

    /// <summary>Runs a reader; an <see cref="InputException"/> (one line, naming the file) is returned, anything else thrown.</summary>
    static (T? Value, Exception? Error) Try<T>(Func<T> read) where T : class
    {
        try
        {
            return (read(), null);
        }
        catch (InputException e)
        {
            if (e.Message.Contains('\n') || !(e.Message.StartsWith(File + ": ") || e.Message.StartsWith("gt.json: ") || e.Message.StartsWith("dt.json: ")))
                throw new PropertyViolation($"an error message is not one line naming the file: '{e.Message}'");
            return (null, e);
        }
    }

    /// <summary>Every value of the data, doubles as bit patterns: equal text means bit-identical data.</summary>
    static string Describe(CocoDetections d)
    {
        var text = new StringBuilder();
        text.Append("image ").AppendJoin(',', d.ImageId).Append(" category ").AppendJoin(',', d.CategoryId)
            .Append(" score ").AppendJoin(',', d.Score.Select(Bits)).Append(" box ").AppendJoin(',', d.Box.Select(Bits))
            .Append(" area ").AppendJoin(',', d.Area.Select(Bits))
            .Append(" segmentation ").Append(d.Segmentation is null ? "none" : string.Join(',', d.Segmentation.Select(s => s?.ToString() ?? "-")));
        return text.ToString();
    }

    static string Describe(CocoGroundTruth g)
    {
        var text = new StringBuilder();
        text.Append("images ").AppendJoin(',', g.Images).Append(" categories ").AppendJoin(',', g.Categories)
            .Append(" ann ").AppendJoin(',', g.AnnotationId).Append(" image ").AppendJoin(',', g.ImageId)
            .Append(" category ").AppendJoin(',', g.CategoryId).Append(" box ").AppendJoin(',', g.Box.Select(Bits))
            .Append(" area ").AppendJoin(',', g.Area.Select(Bits)).Append(" crowd ").AppendJoin(',', g.IsCrowd)
            .Append(" segmentation ").Append(g.Segmentation is null ? "none" : g.Segmentation.Length.ToString());
        return text.ToString();
    }

    static string Bits(double v) => BitConverter.DoubleToInt64Bits(v).ToString("x");

    static byte[][] Tokens() =>
    [
        .. new[]
        {
            "\"image_id\":", "\"category_id\":", "\"bbox\":", "\"score\":", "\"segmentation\":", "\"counts\":", "\"size\":",
            "\"iscrowd\":", "\"area\":", "\"images\":", "\"annotations\":", "\"categories\":", "\"id\":", "\"width\":", "\"height\":",
            "\"name\":", "null", "true", "false", "[", "]", "{", "}", ",", ":", "\"", "[]", "{}", "[[", "]]", "\\u0000", "\\ud800",
            "\\\"", "//", "/*", "*/", "\n#DT#\n", "[0,0,1,1]", "[1e308,0,-1,1]", "{\"size\":[4,4],\"counts\":\"04\"}",
            "{\"size\":[4,4],\"counts\":[16]}", "[[0,0,3,0,3,3]]", "NaN", "-Infinity", "1e999",
        }.Select(Encoding.UTF8.GetBytes),
        [0xEF, 0xBB, 0xBF], [0xC3], [0xFF], [0x00],
    ];
}
