using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Unicode;

namespace PixelBox.Coco;

/// <summary>
/// A hand-written UTF-8 scanner for the common shape of COCO files in bbox evaluation: strict JSON
/// (it validates everything it passes over, skipped values included), numbers converted exactly
/// (<see cref="JsonNumber"/>), GT segmentations skipped structurally. It handles only input that it can
/// read to the same values as <see cref="CocoJson"/>'s Utf8JsonReader parser; on anything else, a user
/// error included, it gives up (returns null) and the caller runs that parser, which gives the same
/// result or the usual error message naming the record. The results list is split on record
/// boundaries and parsed on all cores.
/// </summary>
static class CocoFastJson
{
    /// <summary>Thrown to give up; caught at the entry points only.</summary>
    sealed class GiveUp : Exception
    {
        public static readonly GiveUp Instance = new();
    }

    // Well below Utf8JsonReader's maximum depth (64): deeper input is left to it, so it can reject it.
    const int MaxDepth = 32;

    // ------------------------------------------------------------------------ results
    /// <summary>Box results (every record with a 4-number bbox and no segmentation), or null.</summary>
    public static CocoDetections? TryReadDetections(ReadOnlyMemory<byte> bytes, string file)
    {
        int start = SkipBom(bytes.Span);
        var cuts = ChunkStarts(bytes.Span, start);
        var parts = TryParseChunks(bytes, cuts);
        // a cut that was not a record boundary (inside a string): one sequential pass instead
        if (parts is null && cuts.Count > 1)
            parts = TryParseChunks(bytes, [start]);
        if (parts is null)
            return null;
        int n = 0;
        foreach (var p in parts)
            n += p.Count;
        var imageId = new long[n];
        var categoryId = new long[n];
        var score = new double[n];
        var box = new double[4 * n];
        int at = 0;
        foreach (var p in parts)
        {
            p.ImageId.AsSpan(0, p.Count).CopyTo(imageId.AsSpan(at));
            p.CategoryId.AsSpan(0, p.Count).CopyTo(categoryId.AsSpan(at));
            p.Score.AsSpan(0, p.Count).CopyTo(score.AsSpan(at));
            p.Box.AsSpan(0, 4 * p.Count).CopyTo(box.AsSpan(4 * at));
            at += p.Count;
        }
        return CocoResultsBuilder.Build(file, imageId, categoryId, score, box, null, boxBranch: true);
    }

    static ResultChunk[]? TryParseChunks(ReadOnlyMemory<byte> bytes, List<int> starts)
    {
        var parts = new ResultChunk[starts.Count];
        try
        {
            if (starts.Count == 1)
                parts[0] = ParseResultChunk(bytes.Span, starts[0], int.MaxValue, first: true);
            else
                WorkSharing.For(starts.Count, c =>
                {
                    int end = c + 1 < starts.Count ? starts[c + 1] : int.MaxValue;
                    parts[c] = ParseResultChunk(bytes.Span, starts[c], end, first: c == 0);
                });
            return parts;
        }
        catch (Exception e) when (e is GiveUp || e is AggregateException a && a.InnerExceptions.All(x => x is GiveUp))
        {
            return null;
        }
    }

    const int ChunkBytes = 4 << 20;

    /// <summary>
    /// Where the chunks start: the first at the file's start, the others just after a comma that looks
    /// like a record boundary ("}" ws "," ws "{"). Whether it is one is proved while parsing: the
    /// chunk before must end exactly at that comma (by induction from the file's start, each chunk then
    /// starts at a real record).
    /// </summary>
    static List<int> ChunkStarts(ReadOnlySpan<byte> bytes, int start)
    {
        var cuts = new List<int> { start };
        if (Environment.ProcessorCount == 1)
            return cuts;
        // a few chunks per core, to balance with the ground truth parsed at the same time
        int chunks = (int)Math.Clamp(bytes.Length / ChunkBytes, 1, 4 * Environment.ProcessorCount);
        for (int c = 1; c < chunks; c++)
        {
            int cut = FindBoundary(bytes, Math.Max((int)((long)bytes.Length * c / chunks), cuts[^1] + 1));
            if (cut < 0)
                break;
            cuts.Add(cut);
        }
        return cuts;
    }

    /// <summary>Position of the comma in the first "}" ws "," ws "{" at or after <paramref name="from"/>, or -1.</summary>
    internal static int FindBoundary(ReadOnlySpan<byte> span, int from)
    {
        int pos = from;
        while (pos < span.Length)
        {
            int open = span[pos..].IndexOf((byte)'{');
            if (open < 0)
                return -1;
            open += pos;
            int i = open - 1;
            while (i > 0 && IsSpace(span[i])) i--;
            if (i > 0 && span[i] == (byte)',')
            {
                int comma = i--;
                while (i > 0 && IsSpace(span[i])) i--;
                if (span[i] == (byte)'}')
                    return comma;
            }
            pos = open + 1;
        }
        return -1;
    }

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t';

    static int SkipBom(ReadOnlySpan<byte> bytes) => bytes.StartsWith(Utf8Bom) ? 3 : 0;

    static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>One chunk's records, columns in file order (arrays grown as needed; Count are used).</summary>
    sealed class ResultChunk(int capacity)
    {
        public long[] ImageId = new long[capacity], CategoryId = new long[capacity];
        public double[] Score = new double[capacity], Box = new double[4 * capacity];
        public int Count;

        public void Grow()
        {
            int n = 2 * ImageId.Length;
            Array.Resize(ref ImageId, n);
            Array.Resize(ref CategoryId, n);
            Array.Resize(ref Score, n);
            Array.Resize(ref Box, 4 * n);
        }
    }

    /// <summary>
    /// Parses the records from <paramref name="start"/> (the list's '[' for the first chunk, else the
    /// boundary comma) until the comma at <paramref name="end"/>, or to the list's ']' for the last chunk.
    /// </summary>
    static ResultChunk ParseResultChunk(ReadOnlySpan<byte> bytes, int start, int end, bool first)
    {
        var s = new Scanner(bytes, start);
        bool last = end == int.MaxValue;
        var chunk = new ResultChunk((int)(Math.Min(end, bytes.Length) - (long)start) / 80 + 16);
        s.Expect(first ? (byte)'[' : (byte)',');
        if (first && s.Peek() == (byte)']')
        {
            s.Pos++;
            s.ExpectEnd();
            return chunk;
        }
        Span<double> box = stackalloc double[4];
        while (true)
        {
            ReadResult(ref s, chunk, box);
            byte next = s.Peek();
            if (next == (byte)',')
            {
                if (s.Pos == end)
                    return chunk;
                if (s.Pos > end)
                    throw GiveUp.Instance;
                s.Pos++;
            }
            else if (next == (byte)']' && last)
            {
                s.Pos++;
                s.ExpectEnd();
                return chunk;
            }
            else
                throw GiveUp.Instance;
        }
    }

    static void ReadResult(ref Scanner s, ResultChunk chunk, scoped Span<double> box)
    {
        s.BeginObject();
        bool hasImage = false, hasCategory = false, hasScore = false, hasBox = false;
        long imageId = 0, categoryId = 0;
        double score = 0;
        while (true)
        {
            var key = s.Key();
            if (key.SequenceEqual("image_id"u8)) { imageId = s.Integer(); hasImage = true; }
            else if (key.SequenceEqual("category_id"u8)) { categoryId = s.Integer(); hasCategory = true; }
            else if (key.SequenceEqual("score"u8)) { score = s.Number(); hasScore = true; }
            else if (key.SequenceEqual("bbox"u8)) { s.Box(box); hasBox = true; }
            else if (key.SequenceEqual("segmentation"u8)) throw GiveUp.Instance; // mask results: CocoJson
            else s.SkipValue(2);
            if (!s.EndOfMember())
                break;
        }
        if (!(hasImage && hasCategory && hasScore && hasBox))
            throw GiveUp.Instance;
        int i = chunk.Count;
        if (i == chunk.ImageId.Length)
            chunk.Grow();
        chunk.ImageId[i] = imageId;
        chunk.CategoryId[i] = categoryId;
        chunk.Score[i] = score;
        box.CopyTo(chunk.Box.AsSpan(4 * i, 4));
        chunk.Count = i + 1;
    }

    // ------------------------------------------------------------------- ground truth
    /// <summary>A ground truth with a bbox on every annotation (segmentations skipped), or null.</summary>
    public static CocoGroundTruth? TryReadGroundTruth(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            return ReadGroundTruth(new Scanner(bytes.Span, SkipBom(bytes.Span)));
        }
        catch (GiveUp)
        {
            return null;
        }
    }

    static CocoGroundTruth ReadGroundTruth(Scanner s)
    {
        s.BeginObject();
        List<CocoImage>? images = null;
        List<CocoCategory>? categories = null;
        Annotations? annotations = null;
        while (true)
        {
            var key = s.Key();
            // a list given twice is left to CocoJson, whose handling of it is its own
            if (key.SequenceEqual("images"u8))
                images = images is null ? ReadImages(ref s) : throw GiveUp.Instance;
            else if (key.SequenceEqual("categories"u8))
                categories = categories is null ? ReadCategories(ref s) : throw GiveUp.Instance;
            else if (key.SequenceEqual("annotations"u8))
                annotations = annotations is null ? ReadAnnotations(ref s) : throw GiveUp.Instance;
            else
                s.SkipValue(1);
            if (!s.EndOfMember())
                break;
        }
        s.ExpectEnd();
        if (images is null || categories is null || annotations is null)
            throw GiveUp.Instance;
        var imageIds = new HashSet<long>(images.Count);
        foreach (var image in images)
            if (!imageIds.Add(image.Id))
                throw GiveUp.Instance;
        var categoryIds = new HashSet<long>(categories.Count);
        foreach (var category in categories)
            if (!categoryIds.Add(category.Id))
                throw GiveUp.Instance;
        int n = annotations.Count;
        var annotationIds = new HashSet<long>(n);
        for (int i = 0; i < n; i++)
            if (!annotationIds.Add(annotations.Id[i]))
                throw GiveUp.Instance;
        return new CocoGroundTruth
        {
            Images = images.ToArray(),
            Categories = categories.ToArray(),
            AnnotationId = annotations.Id.AsSpan(0, n).ToArray(),
            ImageId = annotations.ImageId.AsSpan(0, n).ToArray(),
            CategoryId = annotations.CategoryId.AsSpan(0, n).ToArray(),
            Box = annotations.Box.AsSpan(0, 4 * n).ToArray(),
            Area = annotations.Area.AsSpan(0, n).ToArray(),
            IsCrowd = annotations.IsCrowd.AsSpan(0, n).ToArray(),
        };
    }

    static List<CocoImage> ReadImages(ref Scanner s)
    {
        var list = new List<CocoImage>();
        if (!s.BeginArray())
            return list;
        while (true)
        {
            s.BeginObject();
            bool hasId = false;
            long id = 0;
            int width = 0, height = 0;
            string? fileName = null;
            while (true)
            {
                var key = s.Key();
                if (key.SequenceEqual("id"u8)) { id = s.Integer(); hasId = true; }
                else if (key.SequenceEqual("width"u8)) width = s.Size();
                else if (key.SequenceEqual("height"u8)) height = s.Size();
                else if (key.SequenceEqual("file_name"u8) && s.Peek() == (byte)'"') fileName = s.StringValue();
                else s.SkipValue(3);
                if (!s.EndOfMember())
                    break;
            }
            if (!hasId)
                throw GiveUp.Instance;
            list.Add(new CocoImage(id, width, height, fileName));
            if (!s.EndOfElement())
                return list;
        }
    }

    static List<CocoCategory> ReadCategories(ref Scanner s)
    {
        var list = new List<CocoCategory>();
        if (!s.BeginArray())
            return list;
        while (true)
        {
            s.BeginObject();
            bool hasId = false;
            long id = 0;
            string? name = null;
            while (true)
            {
                var key = s.Key();
                if (key.SequenceEqual("id"u8)) { id = s.Integer(); hasId = true; }
                else if (key.SequenceEqual("name"u8) && s.Peek() == (byte)'"') name = s.StringValue();
                else s.SkipValue(3);
                if (!s.EndOfMember())
                    break;
            }
            if (!hasId)
                throw GiveUp.Instance;
            list.Add(new CocoCategory(id, name ?? id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (!s.EndOfElement())
                return list;
        }
    }

    sealed class Annotations
    {
        public long[] Id = new long[1024], ImageId = new long[1024], CategoryId = new long[1024];
        public double[] Box = new double[4096], Area = new double[1024];
        public bool[] IsCrowd = new bool[1024];
        public int Count;

        public void Grow()
        {
            int n = 2 * Id.Length;
            Array.Resize(ref Id, n);
            Array.Resize(ref ImageId, n);
            Array.Resize(ref CategoryId, n);
            Array.Resize(ref Box, 4 * n);
            Array.Resize(ref Area, n);
            Array.Resize(ref IsCrowd, n);
        }
    }

    static Annotations ReadAnnotations(ref Scanner s)
    {
        var a = new Annotations();
        if (!s.BeginArray())
            return a;
        Span<double> box = stackalloc double[4];
        while (true)
        {
            s.BeginObject();
            bool hasId = false, hasImage = false, hasCategory = false, hasArea = false, hasCrowd = false, hasBox = false;
            long id = 0, imageId = 0, categoryId = 0;
            double area = 0;
            bool crowd = false;
            while (true)
            {
                var key = s.Key();
                if (key.SequenceEqual("segmentation"u8)) s.SkipValue(3);
                else if (key.SequenceEqual("id"u8)) { id = s.Integer(); hasId = true; }
                else if (key.SequenceEqual("image_id"u8)) { imageId = s.Integer(); hasImage = true; }
                else if (key.SequenceEqual("category_id"u8)) { categoryId = s.Integer(); hasCategory = true; }
                else if (key.SequenceEqual("bbox"u8)) { s.Box(box); hasBox = true; }
                else if (key.SequenceEqual("area"u8)) { area = s.Number(); hasArea = true; }
                else if (key.SequenceEqual("iscrowd"u8)) { crowd = s.Flag(); hasCrowd = true; }
                else s.SkipValue(3);
                if (!s.EndOfMember())
                    break;
            }
            if (!(hasId && hasImage && hasCategory && hasArea && hasCrowd && hasBox))
                throw GiveUp.Instance;
            int i = a.Count;
            if (i == a.Id.Length)
                a.Grow();
            a.Id[i] = id;
            a.ImageId[i] = imageId;
            a.CategoryId[i] = categoryId;
            a.Area[i] = area;
            a.IsCrowd[i] = crowd;
            box.CopyTo(a.Box.AsSpan(4 * i, 4));
            a.Count = i + 1;
            if (!s.EndOfElement())
                return a;
        }
    }

    // ------------------------------------------------------------------------ scanner
    /// <summary>A position in the file's bytes and strict JSON readers for the values COCO uses.</summary>
    ref struct Scanner(ReadOnlySpan<byte> bytes, int pos)
    {
        readonly ReadOnlySpan<byte> _s = bytes;
        public int Pos = pos;

        /// <summary>The next non-space byte (not consumed); gives up at the end of the data.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public byte Peek()
        {
            int i = Pos;
            if ((uint)i < (uint)_s.Length && _s[i] > (byte)' ')
                return _s[i];
            return PeekAfterSpace();
        }

        byte PeekAfterSpace()
        {
            int i = Pos;
            var s = _s;
            while (i < s.Length && s[i] <= (byte)' ')
            {
                if (!IsSpace(s[i]))
                    throw GiveUp.Instance;
                i++;
            }
            if (i >= s.Length)
                throw GiveUp.Instance;
            Pos = i;
            return s[i];
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public byte NextByte()
        {
            byte b = Peek();
            Pos++;
            return b;
        }

        public void Expect(byte b)
        {
            if (NextByte() != b)
                throw GiveUp.Instance;
        }

        /// <summary>Only whitespace may follow the root value (CocoJson decides what else means).</summary>
        public void ExpectEnd()
        {
            while (Pos < _s.Length && IsSpace(_s[Pos]))
                Pos++;
            if (Pos != _s.Length)
                throw GiveUp.Instance;
        }

        /// <summary>Consumes '[': false (with ']' consumed too) for an empty list, true when an element follows.</summary>
        public bool BeginArray()
        {
            Expect((byte)'[');
            if (Peek() != (byte)']')
                return true;
            Pos++;
            return false;
        }

        /// <summary>Consumes '{' of an object that must have members (an empty one is left to CocoJson).</summary>
        public void BeginObject()
        {
            Expect((byte)'{');
            if (Peek() == (byte)'}')
                throw GiveUp.Instance;
        }

        /// <summary>After a member of an object: true at ',' (another follows), false at '}'.</summary>
        public bool EndOfMember()
        {
            byte b = NextByte();
            if (b == (byte)',')
                return true;
            if (b == (byte)'}')
                return false;
            throw GiveUp.Instance;
        }

        /// <summary>After an element of a list: true at ',' (another follows), false at ']'.</summary>
        public bool EndOfElement()
        {
            byte b = NextByte();
            if (b == (byte)',')
                return true;
            if (b == (byte)']')
                return false;
            throw GiveUp.Instance;
        }

        /// <summary>A property name (no escapes) and its ':'.</summary>
        public ReadOnlySpan<byte> Key()
        {
            if (Peek() != (byte)'"')
                throw GiveUp.Instance;
            var s = _s;
            int start = Pos + 1, i = start;
            // names are short and plain ASCII: one loop; anything else takes the general string scan
            while ((uint)i < (uint)s.Length && s[i] != (byte)'"' && s[i] >= (byte)' ' && s[i] != (byte)'\\' && s[i] < 0x80)
                i++;
            int end = i;
            if ((uint)end >= (uint)s.Length || s[end] != (byte)'"')
            {
                end = StringEnd(start, out bool escaped);
                if (escaped)
                    throw GiveUp.Instance;
            }
            Pos = end + 1;
            if (Peek() != (byte)':')
                throw GiveUp.Instance;
            Pos++;
            return s[start..end];
        }

        /// <summary>A string value, unescaped as Utf8JsonReader.GetString does.</summary>
        public string StringValue()
        {
            int open = Pos;
            int end = StringEnd(open + 1, out bool escaped);
            Pos = end + 1;
            return escaped ? Unescape(_s[open..Pos]) : System.Text.Encoding.UTF8.GetString(_s[(open + 1)..end]);
        }

        // apart, so System.Text.Json loads only for a name that has escapes
        static string Unescape(ReadOnlySpan<byte> quoted)
        {
            var reader = new Utf8JsonReader(quoted);
            reader.Read();
            return reader.GetString()!;
        }

        /// <summary>
        /// Index of the closing quote of the string whose text starts at <paramref name="i"/>. Gives up on
        /// control characters, bad escapes, escaped surrogates and invalid UTF-8: CocoJson judges those.
        /// </summary>
        int StringEnd(int i, out bool escaped)
        {
            var s = _s;
            escaped = false;
            bool ascii = true;
            int start = i;
            while (true)
            {
                int rel = s[i..].IndexOfAny((byte)'"', (byte)'\\');
                if (rel < 0)
                    throw GiveUp.Instance;
                int stop = i + rel;
                for (int j = i; j < stop; j++)
                {
                    byte b = s[j];
                    if (b < 0x20)
                        throw GiveUp.Instance;
                    if (b >= 0x80)
                        ascii = false;
                }
                if (s[stop] == (byte)'"')
                {
                    if (!ascii && !Utf8.IsValid(s[start..stop]))
                        throw GiveUp.Instance;
                    return stop;
                }
                escaped = true;
                i = stop + 1;
                if (i >= s.Length)
                    throw GiveUp.Instance;
                switch (s[i])
                {
                    case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                        i++;
                        break;
                    case (byte)'u':
                        if (i + 5 > s.Length || !uint.TryParse(s.Slice(i + 1, 4), System.Globalization.NumberStyles.AllowHexSpecifier, null, out uint code)
                            || code is >= 0xD800 and <= 0xDFFF)
                            throw GiveUp.Instance;
                        i += 5;
                        break;
                    default:
                        throw GiveUp.Instance;
                }
            }
        }

        /// <summary>A finite number, as Utf8JsonReader.TryGetDouble reads it.</summary>
        public double Number()
        {
            Peek();
            int end = JsonNumber.Parse(_s, Pos, out double value);
            if (end < 0)
                throw GiveUp.Instance;
            Pos = end;
            return value;
        }

        /// <summary>An integer written without fraction or exponent that fits a long (others: CocoJson).</summary>
        public long Integer()
        {
            Peek();
            var s = _s;
            int i = Pos;
            bool negative = s[i] == (byte)'-';
            if (negative)
                i++;
            int first = i;
            long v = 0;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
                v = v * 10 + (s[i++] - '0');
            int digits = i - first;
            if (digits == 0 || digits > 18 || (digits > 1 && s[first] == (byte)'0'))
                throw GiveUp.Instance;
            if (i < s.Length && (s[i] == (byte)'.' || (s[i] | 0x20) == (byte)'e'))
                throw GiveUp.Instance;
            Pos = i;
            return negative ? -v : v;
        }

        /// <summary>A non-negative int (image width/height).</summary>
        public int Size()
        {
            long v = Integer();
            if (v is < 0 or > int.MaxValue)
                throw GiveUp.Instance;
            return (int)v;
        }

        /// <summary>iscrowd: true/false or a number (non-zero is true).</summary>
        public bool Flag()
        {
            byte b = Peek();
            if (b == (byte)'t' || b == (byte)'f')
                return Literal();
            if (b == (byte)'n')
                throw GiveUp.Instance;
            return Number() != 0;
        }

        /// <summary>[x, y, w, h] with w, h &gt;= 0 (an empty or a bad box: CocoJson).</summary>
        public void Box(scoped Span<double> box)
        {
            Expect((byte)'[');
            for (int k = 0; k < 4; k++)
            {
                box[k] = Number();
                if (NextByte() != (k < 3 ? (byte)',' : (byte)']'))
                    throw GiveUp.Instance;
            }
            if (box[2] < 0 || box[3] < 0)
                throw GiveUp.Instance;
        }

        /// <summary>true, false or null; returns whether it was true.</summary>
        bool Literal()
        {
            var rest = _s[Pos..];
            if (rest.StartsWith("true"u8)) { Pos += 4; return true; }
            if (rest.StartsWith("false"u8)) { Pos += 5; return false; }
            if (rest.StartsWith("null"u8)) { Pos += 4; return false; }
            throw GiveUp.Instance;
        }

        /// <summary>Skips any JSON value, checking it; <paramref name="depth"/> is the depth the value is at.</summary>
        public void SkipValue(int depth)
        {
            byte b = Peek();
            switch (b)
            {
                case (byte)'"':
                    Pos = StringEnd(Pos + 1, out _) + 1;
                    break;
                case (byte)'[':
                    if (depth >= MaxDepth)
                        throw GiveUp.Instance;
                    Pos++;
                    if (Peek() == (byte)']')
                    {
                        Pos++;
                        break;
                    }
                    do
                    {
                        if (Peek() is (byte)'-' or >= (byte)'0' and <= (byte)'9')
                            SkipNumber(); // the common case: polygon coordinates
                        else
                            SkipValue(depth + 1);
                    }
                    while (EndOfElement());
                    break;
                case (byte)'{':
                    if (depth >= MaxDepth)
                        throw GiveUp.Instance;
                    Pos++;
                    if (Peek() == (byte)'}')
                    {
                        Pos++;
                        break;
                    }
                    do
                    {
                        Key();
                        SkipValue(depth + 1);
                    }
                    while (EndOfMember());
                    break;
                case (byte)'t' or (byte)'f' or (byte)'n':
                    Literal();
                    break;
                default:
                    SkipNumber();
                    break;
            }
        }

        /// <summary>Checks a number's grammar without converting it (Utf8JsonReader converts skipped numbers neither).</summary>
        void SkipNumber()
        {
            var s = _s;
            int i = Pos;
            if (i < s.Length && s[i] == (byte)'-')
                i++;
            int first = i;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
                i++;
            if (i == first || (s[first] == (byte)'0' && i - first > 1))
                throw GiveUp.Instance;
            if (i < s.Length && s[i] == (byte)'.')
            {
                first = ++i;
                while (i < s.Length && (uint)(s[i] - '0') <= 9)
                    i++;
                if (i == first)
                    throw GiveUp.Instance;
            }
            if (i < s.Length && (s[i] | 0x20) == (byte)'e')
            {
                i++;
                if (i < s.Length && (s[i] == (byte)'+' || s[i] == (byte)'-'))
                    i++;
                first = i;
                while (i < s.Length && (uint)(s[i] - '0') <= 9)
                    i++;
                if (i == first)
                    throw GiveUp.Instance;
            }
            Pos = i;
        }
    }
}
