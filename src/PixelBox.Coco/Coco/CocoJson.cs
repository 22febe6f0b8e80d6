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
    public static CocoGroundTruth ReadGroundTruth(string path, CocoIouType iouType) =>
        ParseGroundTruth(ReadFile(path), path, iouType);

    /// <summary>Reads a results file (a JSON list; an empty list is valid).</summary>
    public static CocoDetections ReadDetections(string path, CocoIouType iouType) =>
        ParseDetections(ReadFile(path), path, iouType);

    public static CocoGroundTruth ParseGroundTruth(ReadOnlySpan<byte> utf8, string file, CocoIouType iouType)
    {
        var parser = new Parser(file);
        return parser.Run(utf8, (ref Utf8JsonReader r) => parser.GroundTruth(ref r, iouType == CocoIouType.Segm, iouType == CocoIouType.Bbox));
    }

    public static CocoDetections ParseDetections(ReadOnlySpan<byte> utf8, string file, CocoIouType iouType)
    {
        var parser = new Parser(file);
        return parser.Run(utf8, (ref Utf8JsonReader r) => parser.Detections(ref r, iouType == CocoIouType.Segm));
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
        string _record = "";
        readonly List<double> _numbers = new();

        public T Run<T>(ReadOnlySpan<byte> utf8, ParseFn<T> parse)
        {
            if (utf8.StartsWith("\xEF\xBB\xBF"u8))
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
            var where = _record.Length > 0 ? $" in {_record}" : "";
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
            new(file, _record.Length > 0 ? $"{_record}: {problem}" : problem);

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
                    r.Skip();
            }
            _record = "";
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
                _record = $"images[{list.Count}]";
                ExpectObject(ref r);
                long? id = null;
                int width = 0, height = 0;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var name = PropertyName(ref r);
                    r.Read();
                    if (name.SequenceEqual("id"u8)) id = Id(ref r, "id");
                    else if (name.SequenceEqual("width"u8)) width = Size(ref r, "width");
                    else if (name.SequenceEqual("height"u8)) height = Size(ref r, "height");
                    else r.Skip();
                }
                list.Add(new CocoImage(id ?? throw Bad("missing field 'id'"), width, height));
                _record = $"the list after images[{list.Count - 1}]";
            }
            return list;
        }

        List<CocoCategory> Categories(ref Utf8JsonReader r)
        {
            ExpectArray(ref r, "categories");
            var list = new List<CocoCategory>();
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                _record = $"categories[{list.Count}]";
                ExpectObject(ref r);
                long? id = null;
                string? name = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var key = PropertyName(ref r);
                    r.Read();
                    if (key.SequenceEqual("id"u8)) id = Id(ref r, "id");
                    else if (key.SequenceEqual("name"u8) && r.TokenType == JsonTokenType.String) name = r.GetString();
                    else r.Skip();
                }
                long catId = id ?? throw Bad("missing field 'id'");
                list.Add(new CocoCategory(catId, name ?? catId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                _record = $"the list after categories[{list.Count - 1}]";
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
                _record = $"annotations[{index}]";
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
                    else r.Skip();
                }
                if (id is not null) _record = $"annotations[{index}] (id {id})";
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
                _record = $"the list after annotations[{index}]";
                index++;
            }
        }

        // ----------------------------------------------------------------------- results
        public CocoDetections Detections(ref Utf8JsonReader r, bool segmEvaluation)
        {
            if (r.TokenType != JsonTokenType.StartArray)
                throw Bad("results must be a JSON list of objects");
            // Capacity guess from the typical ~100 bytes per bbox result avoids regrowing big arrays.
            var imageIds = new List<long>();
            var categoryIds = new List<long>();
            var scores = new List<double>();
            var boxes = new List<double>();
            List<CocoSegmentation?>? segmentations = null;
            Span<double> box = stackalloc double[4];
            bool boxBranch = true;
            int index = 0;
            while (Next(ref r) != JsonTokenType.EndArray)
            {
                _record = $"results[{index}]";
                ExpectObject(ref r);
                long? imageId = null, categoryId = null;
                double? score = null;
                bool hasBox = false, hasSegmentation = false;
                CocoSegmentation? segmentation = null;
                while (Next(ref r) != JsonTokenType.EndObject)
                {
                    var name = PropertyName(ref r);
                    r.Read();
                    if (name.SequenceEqual("image_id"u8)) imageId = Id(ref r, "image_id");
                    else if (name.SequenceEqual("category_id"u8)) categoryId = Id(ref r, "category_id");
                    else if (name.SequenceEqual("score"u8)) score = Number(ref r, "score");
                    else if (name.SequenceEqual("bbox"u8)) hasBox = Box(ref r, box);
                    else if (name.SequenceEqual("segmentation"u8))
                    {
                        hasSegmentation = true;
                        segmentation = Segmentation(ref r);
                    }
                    else r.Skip();
                }
                if (index == 0)
                {
                    // pycocotools' loadRes picks the branch from the first result only.
                    boxBranch = hasBox;
                    if (!hasBox && !hasSegmentation)
                        throw Bad("missing field 'bbox' (or 'segmentation')");
                }
                imageIds.Add(imageId ?? throw Bad("missing field 'image_id'"));
                categoryIds.Add(categoryId ?? throw Bad("missing field 'category_id'"));
                scores.Add(score ?? throw Bad("missing field 'score'"));
                if (boxBranch && !hasBox)
                    throw Bad("missing field 'bbox' (results[0] has a bbox, so every result needs one)");
                if (!boxBranch && !hasSegmentation)
                    throw Bad("missing field 'segmentation' (results[0] is a mask result, so every result needs one)");
                if (hasBox)
                    foreach (var v in box) boxes.Add(v);
                else
                    for (int k = 0; k < 4; k++) boxes.Add(double.NaN);
                if (segmentation is not null)
                {
                    segmentations ??= new List<CocoSegmentation?>(Enumerable.Repeat<CocoSegmentation?>(null, index));
                    segmentations.Add(segmentation);
                }
                else
                    segmentations?.Add(null);
                _record = $"the list after results[{index}]";
                index++;
            }
            _record = "";
            return CocoResultsBuilder.Build(file, imageIds.ToArray(), categoryIds.ToArray(), scores.ToArray(),
                boxes.ToArray(), segmentations?.ToArray(), boxBranch, segmEvaluation);
        }

        // ------------------------------------------------------------------ value readers
        static JsonTokenType Next(ref Utf8JsonReader r)
        {
            if (!r.Read())
                throw new JsonException("unexpected end of data");
            return r.TokenType;
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
                else r.Skip();
            }
            if (height < 0)
                throw Bad("RLE segmentation is missing 'size'");
            if (text is null && counts is null)
                throw Bad("RLE segmentation is missing 'counts'");
            return text is not null ? new CocoRleString(height, width, text) : new CocoRleCounts(height, width, counts!);
        }
    }
}
