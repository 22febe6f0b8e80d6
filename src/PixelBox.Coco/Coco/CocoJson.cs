using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace PixelBox.Coco;

/// <summary>
/// Reads COCO ground-truth and results files with a forward-only <see cref="Utf8JsonReader"/> over the
/// file bytes (no DOM). Every user error becomes an <see cref="InputException"/> naming the file and the
/// offending record, e.g. <c>dt.json: results[12]: bbox width is negative (-3)</c>.
/// </summary>
public static class CocoJson
{
    /// <summary>Reads a ground-truth file. Segmentations are read only for segm evaluation.</summary>
    public static CocoGroundTruth ReadGroundTruth(string path, CocoIouType iouType)
    {
        // bbox evaluation skips segmentations: the fast scanner reads the usual files (mapped, not
        // copied), this parser the rest
        if (iouType == CocoIouType.Bbox)
            using (var mapped = MappedFile.Open(path))
                if (CocoFastJson.TryReadGroundTruth(mapped.Memory) is { } fast)
                    return fast;
        return ParseGroundTruth(ReadFile(path), path, iouType);
    }

    /// <summary>Reads a results file (a JSON list; an empty list is valid).</summary>
    public static CocoDetections ReadDetections(string path, CocoIouType iouType)
    {
        bool segm = iouType == CocoIouType.Segm;
        if (!segm)
            using (var mapped = MappedFile.Open(path))
                if (CocoFastJson.TryReadDetections(mapped.Memory, path) is { } fast)
                    return fast;
        var bytes = ReadFile(path);
        // Big files are parsed in chunks on all cores; any doubt (odd layout, an error) falls back to
        // one sequential pass, which also gives the exact error message.
        if (bytes.Length >= ChunkedMinBytes && Environment.ProcessorCount > 1 && TryParseChunked(bytes, path, segm) is { } chunked)
            return chunked;
        return ParseDetections(bytes, path, iouType);
    }

    public static CocoGroundTruth ParseGroundTruth(ReadOnlySpan<byte> utf8, string file, CocoIouType iouType)
    {
        var parser = new Parser(file);
        return parser.Run(utf8, (ref Utf8JsonReader r) => parser.GroundTruth(ref r, iouType == CocoIouType.Segm, iouType == CocoIouType.Bbox));
    }

    public static CocoDetections ParseDetections(ReadOnlySpan<byte> utf8, string file, CocoIouType iouType)
    {
        var parser = new Parser(file);
        var columns = new ResultColumns();
        parser.Run(utf8, (ref Utf8JsonReader r) =>
        {
            if (r.TokenType != JsonTokenType.StartArray)
                throw new InputException(file, "results must be a JSON list of objects");
            parser.Results(ref r, columns, 0, final: true);
            return 0;
        });
        return ResultColumns.Build([columns], file, iouType == CocoIouType.Segm);
    }

    const int ChunkedMinBytes = 4 << 20;

    /// <summary>
    /// Splits the results list at object boundaries ("}, {" found by a byte search), turns each boundary
    /// comma into '[' so every chunk is a list of its own, and parses the chunks in parallel. A chunk must
    /// end exactly at the next boundary (the preceding chunk's parse is what proves a boundary is not
    /// inside a string); otherwise, or on any error, the bytes are restored and null is returned.
    /// </summary>
    internal static CocoDetections? TryParseChunked(byte[] bytes, string file, bool segm)
    {
        int chunks = Math.Min(8, 2 * Environment.ProcessorCount);
        var cuts = new List<int>();
        for (int c = 1; c < chunks; c++)
        {
            int cut = CocoFastJson.FindBoundary(bytes, (int)Math.Max((long)bytes.Length * c / chunks, cuts.Count > 0 ? cuts[^1] + 1 : 0));
            if (cut < 0)
                break;
            if (cuts.Count == 0 || cut > cuts[^1])
                cuts.Add(cut);
        }
        if (cuts.Count == 0)
            return null;
        foreach (var cut in cuts)
            bytes[cut] = (byte)'[';
        try
        {
            var starts = new List<int> { 0 };
            starts.AddRange(cuts);
            var parts = new ResultColumns[starts.Count];
            bool ok = true;
            Parallel.For(0, starts.Count, i =>
            {
                int start = starts[i], end = i + 1 < starts.Count ? starts[i + 1] : bytes.Length;
                // ~90 bytes per box result: one allocation per column in the common case
                var columns = new ResultColumns((end - start) / 90 + 16);
                try
                {
                    if (new Parser(file).TryChunk(bytes.AsSpan(start, end - start), columns, final: i + 1 == starts.Count))
                        parts[i] = columns;
                    else
                        ok = false;
                }
                catch (Exception e) when (e is InputException or JsonException or InvalidOperationException)
                {
                    ok = false; // the sequential pass reports it with the right record number
                }
            });
            if (!ok)
                return null;
            return ResultColumns.Build(parts, file, segm);
        }
        catch (Exception e) when (e is InputException or JsonException)
        {
            return null;
        }
        finally
        {
            foreach (var cut in cuts)
                bytes[cut] = (byte)',';
        }
    }

    /// <summary>Parsed result records, columns in file order, before loadRes' completion.</summary>
    sealed class ResultColumns(int capacity = 16)
    {
        public readonly List<long> ImageId = new(capacity), CategoryId = new(capacity);
        public readonly List<double> Score = new(capacity), Box = new(4 * capacity);
        public readonly List<bool> HasBox = new(capacity);
        // created at the first result that has a segmentation (box results usually have none)
        public List<CocoSegmentation?>? Segmentation;

        public int Count => ImageId.Count;

        public void AddSegmentation(CocoSegmentation? s)
        {
            if (s is not null && Segmentation is null)
            {
                Segmentation = new List<CocoSegmentation?>(Math.Max(capacity, Count));
                for (int i = 0; i < Count - 1; i++)
                    Segmentation.Add(null);
            }
            Segmentation?.Add(s);
        }

        /// <summary>
        /// pycocotools' loadRes takes the branch of the first result: every result needs its field. The
        /// parts (chunks in file order) are copied once into exact-size arrays.
        /// </summary>
        public static CocoDetections Build(ResultColumns[] parts, string file, bool segmEvaluation)
        {
            int n = parts.Sum(p => p.Count);
            var imageId = new long[n];
            var categoryId = new long[n];
            var score = new double[n];
            var box = new double[4 * n];
            var hasBox = new bool[n];
            CocoSegmentation?[]? segmentation = parts.Any(p => p.Segmentation is not null) ? new CocoSegmentation?[n] : null;
            int at = 0;
            foreach (var p in parts)
            {
                CollectionsMarshal.AsSpan(p.ImageId).CopyTo(imageId.AsSpan(at));
                CollectionsMarshal.AsSpan(p.CategoryId).CopyTo(categoryId.AsSpan(at));
                CollectionsMarshal.AsSpan(p.Score).CopyTo(score.AsSpan(at));
                CollectionsMarshal.AsSpan(p.Box).CopyTo(box.AsSpan(4 * at));
                CollectionsMarshal.AsSpan(p.HasBox).CopyTo(hasBox.AsSpan(at));
                if (p.Segmentation is not null)
                    CollectionsMarshal.AsSpan(p.Segmentation).CopyTo(segmentation.AsSpan(at));
                at += p.Count;
            }
            bool boxBranch = n == 0 || hasBox[0];
            for (int i = 0; i < n; i++)
            {
                if (boxBranch && !hasBox[i])
                    throw new InputException(file, i == 0
                        ? "results[0]: missing field 'bbox' (or 'segmentation')"
                        : $"results[{i}]: missing field 'bbox' (results[0] has a bbox, so every result needs one)");
                if (!boxBranch && segmentation?[i] is null)
                    throw new InputException(file, i == 0
                        ? "results[0]: missing field 'bbox' (or 'segmentation')"
                        : $"results[{i}]: missing field 'segmentation' (results[0] is a mask result, so every result needs one)");
            }
            return CocoResultsBuilder.Build(file, imageId, categoryId, score, box, segmentation, boxBranch);
        }
    }

    internal static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InputException(path, "cannot read the file: " + e.Message, e);
        }
    }

    delegate T ParseFn<T>(ref Utf8JsonReader reader);

    /// <summary>Parsing state: the file name and the record being read, for error messages.</summary>
    sealed class Parser(string file)
    {
        // The record being read, turned into text only for a message (no string per record).
        string? _list;
        int _index;
        long? _id;
        bool _after;

        void At(string list, int index, long? id = null, bool after = false) =>
            (_list, _index, _id, _after) = (list, index, id, after);

        string Record => _list is null ? ""
            : _after ? $"the list after {_list}[{_index}]"
            : _id is null ? $"{_list}[{_index}]" : $"{_list}[{_index}] (id {_id})";
        readonly List<double> _numbers = new();

        public T Run<T>(ReadOnlySpan<byte> utf8, ParseFn<T> parse)
        {
            // the UTF-8 byte order mark (a "\xEF..."u8 literal would be the UTF-8 of U+00EF...)
            if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
                utf8 = utf8[3..];
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            try
            {
                if (!reader.Read())
                    throw Bad("the file is empty");
                return parse(ref reader);
            }
            catch (JsonException e)
            {
                throw new InputException(file, MalformedMessage(utf8, e), e);
            }
        }

        string MalformedMessage(ReadOnlySpan<byte> utf8, JsonException e)
        {
            var where = _list is not null ? $" in {Record}" : "";
            long line = (e.LineNumber ?? 0) + 1, column = (e.BytePositionInLine ?? 0) + 1;
            long offset = LineStart(utf8, line - 1) + column - 1;
            // Python's json writes NaN/Infinity for non-finite floats; name them instead of a parser complaint.
            int lo = (int)Math.Clamp(offset - 12, 0, utf8.Length), hi = (int)Math.Clamp(offset + 12, 0, utf8.Length);
            var around = utf8[lo..hi];
            if (around.IndexOf("NaN"u8) >= 0 || around.IndexOf("Infinity"u8) >= 0)
                return $"non-finite number (NaN or Infinity){where} at line {line}, column {column}";
            var reason = e.Message.Split(". LineNumber")[0].Split('\n')[0].TrimEnd('.');
            return $"malformed JSON{where} at line {line}, column {column}: {reason}";
        }

        static long LineStart(ReadOnlySpan<byte> utf8, long lineIndex)
        {
            long pos = 0;
            for (long l = 0; l < lineIndex; l++)
            {
                int nl = utf8[(int)pos..].IndexOf((byte)'\n');
                if (nl < 0)
                    break;
                pos += nl + 1;
            }
            return pos;
        }

        InputException Bad(string problem) =>
            new(file, _list is not null ? $"{Record}: {problem}" : problem);

        // ------------------------------------------------------------------ ground truth
        public CocoGroundTruth GroundTruth(ref Utf8JsonReader r, bool readSegmentation, bool needBox)
        {
            if (r.TokenType != JsonTokenType.StartObject)
                throw Bad("the ground truth must be a JSON object with images, annotations and categories");
            List<CocoImage>? images = null;
            List<CocoCategory>? categories = null;
            var ann = new AnnotationColumns(readSegmentation);
            bool sawAnnotations = false;
            while (Next(ref r) != JsonTokenType.EndObject)
            {
                var name = PropertyName(ref r);
                r.Read();
                if (name.SequenceEqual("images"u8))
                    images = Images(ref r);
                else if (name.SequenceEqual("categories"u8))
                    categories = Categories(ref r);
                else if (name.SequenceEqual("annotations"u8))
                {
                    Annotations(ref r, ann, readSegmentation, needBox);
                    sawAnnotations = true;
                }
                else
                    SkipValue(ref r);
            }
            _list = null;
            if (images is null)
                throw Bad("missing field 'images'");
            if (categories is null)
                throw Bad("missing field 'categories'");
            if (!sawAnnotations)
                throw Bad("missing field 'annotations'");
            CheckUnique(images.Select(i => i.Id), "images");
            CheckUnique(categories.Select(c => c.Id), "categories");
            CheckUnique(ann.Id, "annotations");
            return new CocoGroundTruth
            {
                Images = images.ToArray(),
                Categories = categories.ToArray(),
                AnnotationId = ann.Id.ToArray(),
                ImageId = ann.ImageId.ToArray(),
                CategoryId = ann.CategoryId.ToArray(),
                Box = ann.Box.ToArray(),
                Area = ann.Area.ToArray(),
                IsCrowd = ann.IsCrowd.ToArray(),
                Segmentation = ann.Segmentation?.ToArray(),
            };
        }

        void CheckUnique(IEnumerable<long> ids, string list)
        {
            var seen = new HashSet<long>();
            int i = 0;
            foreach (var id in ids)
            {
                if (!seen.Add(id))
                    throw new InputException(file, $"{list}[{i}]: duplicate id {id}");
                i++;
            }
        }

        List<CocoImage> Images(ref Utf8JsonReader r)
        {
            ExpectArray(ref r, "images");
            var list = new List<CocoImage>();
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                At("images", list.Count);
                ExpectObject(ref r);
                long? id = null;
                int width = 0, height = 0;
                string? fileName = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var name = PropertyName(ref r);
                    r.Read();
                    if (name.SequenceEqual("id"u8)) id = Id(ref r, "id");
                    else if (name.SequenceEqual("width"u8)) width = Size(ref r, "width");
                    else if (name.SequenceEqual("height"u8)) height = Size(ref r, "height");
                    else if (name.SequenceEqual("file_name"u8) && r.TokenType == JsonTokenType.String) fileName = Text(ref r, "file_name");
                    else SkipValue(ref r);
                }
                list.Add(new CocoImage(id ?? throw Bad("missing field 'id'"), width, height, fileName));
                At("images", list.Count - 1, after: true);
            }
            return list;
        }

        List<CocoCategory> Categories(ref Utf8JsonReader r)
        {
            ExpectArray(ref r, "categories");
            var list = new List<CocoCategory>();
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                At("categories", list.Count);
                ExpectObject(ref r);
                long? id = null;
                string? name = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var key = PropertyName(ref r);
                    r.Read();
                    if (key.SequenceEqual("id"u8)) id = Id(ref r, "id");
                    else if (key.SequenceEqual("name"u8) && r.TokenType == JsonTokenType.String) name = r.GetString();
                    else SkipValue(ref r);
                }
                long catId = id ?? throw Bad("missing field 'id'");
                list.Add(new CocoCategory(catId, name ?? catId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                At("categories", list.Count - 1, after: true);
            }
            return list;
        }

        sealed class AnnotationColumns(bool withSegmentation)
        {
            public readonly List<long> Id = new(), ImageId = new(), CategoryId = new();
            public readonly List<double> Box = new(), Area = new();
            public readonly List<bool> IsCrowd = new();
            public readonly List<CocoSegmentation?>? Segmentation = withSegmentation ? new() : null;
        }

        void Annotations(ref Utf8JsonReader r, AnnotationColumns c, bool readSegmentation, bool needBox)
        {
            ExpectArray(ref r, "annotations");
            Span<double> box = stackalloc double[4];
            int index = 0;
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                At("annotations", index);
                ExpectObject(ref r);
                long? id = null, imageId = null, categoryId = null;
                double? area = null;
                bool? crowd = null, hasBox = false;
                CocoSegmentation? segmentation = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var name = PropertyName(ref r);
                    r.Read();
                    if (name.SequenceEqual("id"u8)) id = Id(ref r, "id");
                    else if (name.SequenceEqual("image_id"u8)) imageId = Id(ref r, "image_id");
                    else if (name.SequenceEqual("category_id"u8)) categoryId = Id(ref r, "category_id");
                    else if (name.SequenceEqual("bbox"u8)) hasBox = Box(ref r, box);
                    else if (name.SequenceEqual("area"u8)) area = Number(ref r, "area");
                    else if (name.SequenceEqual("iscrowd"u8)) crowd = Flag(ref r, "iscrowd");
                    else if (name.SequenceEqual("segmentation"u8) && readSegmentation) segmentation = Segmentation(ref r);
                    else SkipValue(ref r);
                }
                At("annotations", index, id);
                c.Id.Add(id ?? throw Bad("missing field 'id'"));
                c.ImageId.Add(imageId ?? throw Bad("missing field 'image_id'"));
                c.CategoryId.Add(categoryId ?? throw Bad("missing field 'category_id'"));
                c.Area.Add(area ?? throw Bad("missing field 'area'"));
                c.IsCrowd.Add(crowd ?? throw Bad("missing field 'iscrowd'"));
                if (hasBox == true)
                    foreach (var v in box) c.Box.Add(v);
                else if (needBox)
                    throw Bad("missing field 'bbox'");
                else
                    for (int k = 0; k < 4; k++) c.Box.Add(double.NaN);
                if (c.Segmentation is not null)
                    c.Segmentation.Add(segmentation ?? throw Bad("missing field 'segmentation' (needed for segm evaluation)"));
                At("annotations", index, after: true);
                index++;
            }
        }

        // ----------------------------------------------------------------------- results
        /// <summary>A chunk: '[' then whole result objects, ending at its end (final: at the list's ']').</summary>
        public bool TryChunk(ReadOnlySpan<byte> chunk, ResultColumns columns, bool final)
        {
            var r = new Utf8JsonReader(chunk, isFinalBlock: final, default);
            if (!r.Read() || r.TokenType != JsonTokenType.StartArray)
                return false;
            if (!Results(ref r, columns, 0, final))
                return false;
            // a chunk must stop right after its last object, with only whitespace left
            return final || (r.CurrentDepth == 1 && r.TokenType == JsonTokenType.EndObject &&
                             chunk[(int)r.BytesConsumed..].Trim(" \r\n\t"u8).IsEmpty);
        }

        /// <summary>
        /// Reads result objects after the list's '['. Returns false when a non-final chunk runs out of
        /// data before the list's end (the caller checks where); true at the list's ']'.
        /// </summary>
        public bool Results(ref Utf8JsonReader r, ResultColumns c, int firstIndex, bool final)
        {
            Span<double> box = stackalloc double[4];
            int index = firstIndex;
            while (true)
            {
                if (!r.Read())
                {
                    if (final)
                        throw new JsonException("unexpected end of data");
                    return !final && r.TokenType == JsonTokenType.EndObject;
                }
                if (r.TokenType == JsonTokenType.EndArray)
                    return true;
                At("results", index);
                ExpectObject(ref r);
                long? imageId = null, categoryId = null;
                double? score = null;
                bool hasBox = false;
                CocoSegmentation? segmentation = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var name = PropertyName(ref r);
                    r.Read();
                    if (name.SequenceEqual("image_id"u8)) imageId = Id(ref r, "image_id");
                    else if (name.SequenceEqual("category_id"u8)) categoryId = Id(ref r, "category_id");
                    else if (name.SequenceEqual("score"u8)) score = Number(ref r, "score");
                    else if (name.SequenceEqual("bbox"u8)) hasBox = Box(ref r, box);
                    else if (name.SequenceEqual("segmentation"u8)) segmentation = Segmentation(ref r);
                    else SkipValue(ref r);
                }
                c.ImageId.Add(imageId ?? throw Bad("missing field 'image_id'"));
                c.CategoryId.Add(categoryId ?? throw Bad("missing field 'category_id'"));
                c.Score.Add(score ?? throw Bad("missing field 'score'"));
                c.HasBox.Add(hasBox);
                if (hasBox)
                    foreach (var v in box) c.Box.Add(v);
                else
                    for (int k = 0; k < 4; k++) c.Box.Add(double.NaN);
                c.AddSegmentation(segmentation);
                At("results", index, after: true);
                index++;
            }
        }

        // ------------------------------------------------------------------ value readers
        static JsonTokenType Next(ref Utf8JsonReader r)
        {
            if (!r.Read())
                throw new JsonException("unexpected end of data");
            return r.TokenType;
        }

        /// <summary>Skips an unused value; TrySkip also works on a chunk (a reader that is not at the final block).</summary>
        static void SkipValue(ref Utf8JsonReader r)
        {
            if (!r.TrySkip())
                throw new JsonException("unexpected end of data");
        }

        static ReadOnlySpan<byte> PropertyName(ref Utf8JsonReader r) =>
            r.ValueIsEscaped ? Encoding.UTF8.GetBytes(r.GetString()!) : r.ValueSpan;

        void ExpectArray(ref Utf8JsonReader r, string field)
        {
            if (r.TokenType != JsonTokenType.StartArray)
                throw Bad($"'{field}' must be a list");
        }

        void ExpectObject(ref Utf8JsonReader r)
        {
            if (r.TokenType != JsonTokenType.StartObject)
                throw Bad("must be a JSON object");
        }

        long Id(ref Utf8JsonReader r, string field)
        {
            if (r.TokenType == JsonTokenType.Number)
            {
                if (r.TryGetInt64(out var v))
                    return v;
                if (r.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15)
                    return (long)d;
            }
            throw Bad($"'{field}' must be an integer");
        }

        /// <summary>A string value; invalid UTF-8 (which GetString reports as InvalidOperationException) is the file's problem.</summary>
        string Text(ref Utf8JsonReader r, string field)
        {
            try
            {
                return r.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw Bad($"'{field}' is not valid UTF-8");
            }
        }

        int Size(ref Utf8JsonReader r, string field)
        {
            if (r.TokenType == JsonTokenType.Number && r.TryGetInt32(out var v) && v >= 0)
                return v;
            throw Bad($"'{field}' must be a non-negative integer");
        }

        double Number(ref Utf8JsonReader r, string field)
        {
            if (r.TokenType == JsonTokenType.Number && r.TryGetDouble(out var v) && double.IsFinite(v))
                return v;
            if (r.TokenType == JsonTokenType.String)
                throw Bad($"'{field}' must be a number, not the string \"{r.GetString()}\"");
            throw Bad($"'{field}' must be a finite number");
        }

        bool Flag(ref Utf8JsonReader r, string field) => r.TokenType switch
        {
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            JsonTokenType.Number => Number(ref r, field) != 0,
            _ => throw Bad($"'{field}' must be 0 or 1"),
        };

        /// <summary>Reads [x, y, w, h]; false for an empty list (pycocotools treats [] as no box).</summary>
        bool Box(ref Utf8JsonReader r, scoped Span<double> box)
        {
            if (r.TokenType != JsonTokenType.StartArray)
                throw Bad("'bbox' must be a list [x, y, w, h]");
            int n = 0;
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                if (n == 4)
                    throw Bad("'bbox' must have 4 numbers [x, y, w, h]");
                box[n++] = Number(ref r, "bbox");
            }
            if (n == 0)
                return false;
            if (n != 4)
                throw Bad("'bbox' must have 4 numbers [x, y, w, h]");
            if (box[2] < 0)
                throw Bad($"bbox width is negative ({box[2]})");
            if (box[3] < 0)
                throw Bad($"bbox height is negative ({box[3]})");
            return true;
        }

        CocoSegmentation Segmentation(ref Utf8JsonReader r)
        {
            if (r.TokenType == JsonTokenType.StartArray)
            {
                var polygons = new List<double[]>();
                while (Next(ref r) != JsonTokenType.EndArray)
                {
                    if (r.TokenType != JsonTokenType.StartArray)
                        throw Bad("'segmentation' polygons must be lists of numbers");
                    _numbers.Clear();
                    while (Next(ref r) != JsonTokenType.EndArray)
                        _numbers.Add(Number(ref r, "segmentation"));
                    polygons.Add(_numbers.ToArray());
                }
                return new CocoPolygons(polygons.ToArray());
            }
            if (r.TokenType != JsonTokenType.StartObject)
                throw Bad("'segmentation' must be polygons or an RLE object {size, counts}");
            int height = -1, width = -1;
            string? text = null;
            long[]? counts = null;
            while (Next(ref r) != JsonTokenType.EndObject)
            {
                var name = PropertyName(ref r);
                r.Read();
                if (name.SequenceEqual("size"u8))
                {
                    if (r.TokenType != JsonTokenType.StartArray)
                        throw Bad("RLE 'size' must be [height, width]");
                    int n = 0;
                    while (Next(ref r) != JsonTokenType.EndArray)
                    {
                        int v = Size(ref r, "size");
                        if (n == 0) height = v;
                        else if (n == 1) width = v;
                        n++;
                    }
                    if (n != 2)
                        throw Bad("RLE 'size' must be [height, width]");
                }
                else if (name.SequenceEqual("counts"u8))
                {
                    if (r.TokenType == JsonTokenType.String)
                        text = r.GetString();
                    else if (r.TokenType == JsonTokenType.StartArray)
                    {
                        var list = new List<long>();
                        while (Next(ref r) != JsonTokenType.EndArray)
                        {
                            long v = Id(ref r, "counts");
                            if (v < 0)
                                throw Bad("RLE 'counts' must not be negative");
                            list.Add(v);
                        }
                        counts = list.ToArray();
                    }
                    else
                        throw Bad("RLE 'counts' must be a string or a list of integers");
                }
                else SkipValue(ref r);
            }
            if (height < 0)
                throw Bad("RLE segmentation is missing 'size'");
            if (text is null && counts is null)
                throw Bad("RLE segmentation is missing 'counts'");
            return text is not null ? new CocoRleString(height, width, text) : new CocoRleCounts(height, width, counts!);
        }
    }
}
