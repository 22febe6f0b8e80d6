using System.Globalization;
using System.Text;
using System.Text.Json;
using PixelBox.Coco;

namespace PixelBox.Tests.Coco;

/// <summary>
/// The hand-written reader: numbers bit-identical to a correctly rounded parse, the same columns as the
/// Utf8JsonReader parser, and giving up (so that parser reports the error) on anything it does not read.
/// </summary>
public class CocoFastJsonTests
{
    static double Fast(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        int end = JsonNumber.Parse(bytes, 0, out double value);
        Assert.True(end == bytes.Length, $"'{text}' not read whole (end {end})");
        return value;
    }

    static void AssertSameAsDoubleParse(string text)
    {
        double expected = double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
        double actual = Fast(text);
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(actual),
            $"'{text}': {actual:R} instead of {expected:R}");
        var reader = new Utf8JsonReader(Encoding.ASCII.GetBytes(text));
        reader.Read();
        Assert.Equal(BitConverter.DoubleToInt64Bits(reader.GetDouble()), BitConverter.DoubleToInt64Bits(actual));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("0.000")]
    [InlineData("1")]
    [InlineData("0.1")]
    [InlineData("0.30000000000000004")]
    [InlineData("371.2")]
    [InlineData("0.6116788983345032")]
    [InlineData("0.35336434841156006")]
    [InlineData("9007199254740992")]
    [InlineData("9007199254740993")]   // 2^53 + 1: a tie, to even
    [InlineData("9007199254740995")]
    [InlineData("900719925474099.3")]
    [InlineData("0.9007199254740993")]
    [InlineData("1e22")]
    [InlineData("1e23")]
    [InlineData("1E-22")]
    [InlineData("1.5e-7")]
    [InlineData("12345678901234567890")]
    // 3 * 10^65 and 10^20 * 2^64 wrap the 64-bit significand to 0 (a fuzzer found the first read as 0)
    [InlineData("300000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("1844674407370955161600000000000000000000")]
    [InlineData("300000000000000000000000000000000000000000000000000000000000000000.5")]
    [InlineData("-300000000000000000000000000000000000000000000000000000000000000000e-3")]
    [InlineData("1234567890123456789")]
    [InlineData("0.1234567890123456789")]
    [InlineData("0.12345678901234567891")]
    [InlineData("123.456e+2")]
    [InlineData("2.2250738585072014e-308")]
    [InlineData("4.9e-324")]
    [InlineData("1e-400")]
    [InlineData("1.7976931348623157e308")]
    [InlineData("0.500000000000000000000000001")]
    [InlineData("1.00000000000000011102230246251565404236316680908203125")]   // halfway 1 .. next double
    [InlineData("1.00000000000000011102230246251565404236316680908203126")]
    [InlineData("0.99999999999999994448884876874217297882")]
    [InlineData("3.0000000000000004")]
    [InlineData("1.0000000000000002")]
    [InlineData("0.0000001")]
    public void EdgeCasesMatchDoubleParse(string text) => AssertSameAsDoubleParse(text);

    [Fact]
    public void RandomNumbersMatchDoubleParse()
    {
        var random = new Random(2017);
        var sb = new StringBuilder();
        for (int n = 0; n < 300_000; n++)
        {
            string text;
            switch (n % 5)
            {
                case 0: // shortest round-trip form of a random double in a COCO-like range
                    text = (random.NextDouble() * Math.Pow(10, random.Next(-6, 5))).ToString("R", CultureInfo.InvariantCulture);
                    break;
                case 1: // 17 significant digits
                    text = random.NextDouble().ToString("G17", CultureInfo.InvariantCulture);
                    break;
                case 2: // a random bit pattern (any exponent)
                    double d;
                    do d = BitConverter.Int64BitsToDouble(random.NextInt64());
                    while (!double.IsFinite(d));
                    text = d.ToString(random.Next(2) == 0 ? "R" : "E16", CultureInfo.InvariantCulture);
                    break;
                default: // random digit strings: 1..24 digits, a random point, maybe an exponent
                    sb.Clear();
                    if (random.Next(4) == 0) sb.Append('-');
                    int digits = random.Next(1, 25), point = random.Next(0, digits);
                    sb.Append((char)('1' + random.Next(9)));
                    for (int i = 1; i < digits; i++)
                    {
                        if (i == point) sb.Append('.');
                        sb.Append((char)('0' + random.Next(10)));
                    }
                    if (random.Next(3) == 0) sb.Append('e').Append(random.Next(-30, 30));
                    text = sb.ToString();
                    if (random.Next(5) == 0) text = "0.000" + text.TrimStart('-').Replace(".", "");
                    break;
            }
            AssertSameAsDoubleParse(text.Replace("E+", "e").Replace("E", "e"));
        }
    }

    [Theory]
    [InlineData("01")]
    [InlineData("-01.5")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("1.e5")]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void BadOrNonFiniteNumbersAreRejected(string text) =>
        Assert.Equal(-1, JsonNumber.Parse(Encoding.ASCII.GetBytes(text), 0, out _));

    // ------------------------------------------------------------------ whole files
    static CocoDetections? FastResults(string text) =>
        CocoFastJson.TryReadDetections(Encoding.UTF8.GetBytes(text), "dt.json");

    static CocoGroundTruth? FastGroundTruth(string text) =>
        CocoFastJson.TryReadGroundTruth(Encoding.UTF8.GetBytes(text));

    static void AssertSameResults(string text)
    {
        var fast = FastResults(text);
        Assert.NotNull(fast);
        var slow = CocoJson.ParseDetections(Encoding.UTF8.GetBytes(text), "dt.json", CocoIouType.Bbox);
        Assert.Equal(slow.ImageId, fast.ImageId);
        Assert.Equal(slow.CategoryId, fast.CategoryId);
        Assert.Equal(slow.Score, fast.Score);
        Assert.Equal(slow.Box, fast.Box);
        Assert.Equal(slow.Area, fast.Area);
        Assert.Null(fast.Segmentation);
    }

    static void AssertSameGroundTruth(string text)
    {
        var fast = FastGroundTruth(text);
        Assert.NotNull(fast);
        var slow = CocoJson.ParseGroundTruth(Encoding.UTF8.GetBytes(text), "gt.json", CocoIouType.Bbox);
        Assert.Equal(slow.Images, fast.Images);
        Assert.Equal(slow.Categories, fast.Categories);
        Assert.Equal(slow.AnnotationId, fast.AnnotationId);
        Assert.Equal(slow.ImageId, fast.ImageId);
        Assert.Equal(slow.CategoryId, fast.CategoryId);
        Assert.Equal(slow.Box, fast.Box);
        Assert.Equal(slow.Area, fast.Area);
        Assert.Equal(slow.IsCrowd, fast.IsCrowd);
        Assert.Null(fast.Segmentation);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData(" \n[ ]\n")]
    [InlineData("\uFEFF[{\"image_id\": 1, \"category_id\": 2, \"bbox\": [1, 2, 3, 4], \"score\": 0.5}]")]
    [InlineData("[{\"score\": 1e-3, \"bbox\": [1.5, -2, 0, 4e1], \"category_id\": -3, \"image_id\": 0}]")]
    [InlineData("[ {\r\n\t\"image_id\" : 7 ,\"category_id\":1,\"bbox\":[ 1 , 2 , 3 , 4 ] , \"score\" : 0.25 , \"extra\": {\"a\": [1, \"x\\\"\\u00e9\", null, true, false, {}], \"b\": []}, \"note\": \"caf\u00e9 \\\\ \\n\"} ]")]
    [InlineData("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5, \"score\": 0.75, \"bbox\": [5, 6, 7, 8]}]")]
    public void ResultsEqualTheReaderParser(string text) => AssertSameResults(text);

    [Fact]
    public void GroundTruthEqualsTheReaderParser()
    {
        AssertSameGroundTruth(File.ReadAllText(SharedFiles.Fixture("coco", "tiny", "gt.json")));
        AssertSameGroundTruth("""
            {"info": {"v": [1, 2.5, -3e2]}, "images": [{"id": 3, "file_name": "a\u00e9.jpg", "width": 640, "height": 480}, {"id": 4}],
             "annotations": [
               {"segmentation": [[1, 2, 3.5, 4, 5, 6]], "id": 9, "image_id": 3, "category_id": 1, "bbox": [0.5, 1, 2, 3], "area": 6.25, "iscrowd": 0},
               {"id": 10, "image_id": 4, "category_id": 2, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": true, "segmentation": {"size": [480, 640], "counts": "abc"}},
               {"id": 11, "image_id": 3, "category_id": 2, "bbox": [0, 0, 0, 0], "area": 0.0, "iscrowd": 1}
             ],
             "categories": [{"id": 1, "name": "p\"er\\u0073on"}, {"id": 2, "name": 5, "supercategory": "x"}]}
            """);
    }

    /// <summary>file_name (what a dataset needs to find its images): the same string from both readers, null when absent or not a string.</summary>
    [Fact]
    public void FileNamesAreReadAlikeByBothReaders()
    {
        const string text = """
            {"images": [{"id": 1, "file_name": "a.jpg"}, {"file_name": "sub/caf\u00e9 \"x\".png", "id": 2, "width": 3, "height": 4},
                        {"id": 3}, {"id": 4, "file_name": 7}, {"id": 5, "file_name": "first", "file_name": "last"}, {"id": 6, "file_name": "café.jpg"}],
             "annotations": [], "categories": []}
            """;
        AssertSameGroundTruth(text);
        var gt = FastGroundTruth(text)!;
        Assert.Equal(["a.jpg", "sub/café \"x\".png", null, null, "last", "café.jpg"], gt.Images.Select(i => i.FileName));
        Assert.Equal(new CocoImage(2, 3, 4, "sub/café \"x\".png"), gt.Images[1]);
    }

    [Fact]
    public void AFileNameThatIsNotUtf8IsReportedByTheReaderParser()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"images": [{"id": 1, "file_name": "a?.jpg"}], "annotations": [], "categories": []}""");
        bytes[Array.IndexOf(bytes, (byte)'?')] = 0xFF;
        Assert.Null(CocoFastJson.TryReadGroundTruth(bytes));
        var path = Path.Combine(Path.GetTempPath(), $"pixelbox-fast-utf8-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(path, CocoIouType.Bbox));
            Assert.Equal($"{path}: images[0]: 'file_name' is not valid UTF-8", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    public static TheoryData<string, string> BadResults() => new()
    {
        { "truncated", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 1, "categ""" },
        { "truncated after a record", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},""" },
        { "bad number", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2.3.4, 3, 4], "score": 0.5}]""" },
        { "leading zero", """[{"image_id": 01, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""" },
        { "missing field", """[{"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""" },
        { "bbox a string", """[{"image_id": 1, "category_id": 1, "bbox": "1 2 3 4", "score": 0.5}]""" },
        { "bbox of 3", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3], "score": 0.5}]""" },
        { "empty bbox", """[{"image_id": 1, "category_id": 1, "bbox": [], "score": 0.5}]""" },
        { "id a float", """[{"image_id": 1.5, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""" },
        { "NaN", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, NaN, 4], "score": 0.5}]""" },
        { "negative width", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, -3, 4], "score": 0.5}]""" },
        { "string score", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "0.5"}]""" },
        { "infinite score", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1e999}]""" },
        { "segmentation", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "segmentation": [[1, 2, 3, 4, 5, 6]]}]""" },
        { "comment", """[/* c */{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""" },
        { "escaped name", """[{"image\u005fid": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""" },
        { "trailing comma", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5},]""" },
        { "not a list", """{"image_id": 1}""" },
        { "text after the list", """[] x""" },
        { "control character", "[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5, \"n\": \"a\u0001\"}]" },
        { "bad escape", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "n": "\x"}]""" },
    };

    [Theory]
    [MemberData(nameof(BadResults))]
    public void FastReaderGivesUpOnResultsItDoesNotRead(string what, string text) =>
        Assert.True(FastResults(text) is null, what);

    public static TheoryData<string, string> BadGroundTruth() => new()
    {
        { "truncated", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1""" },
        { "missing area", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 0}]}""" },
        { "missing bbox", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "area": 1, "iscrowd": 0}]}""" },
        { "negative height", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, -1], "area": 1, "iscrowd": 0}]}""" },
        { "iscrowd null", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": null}]}""" },
        { "string width", """{"images": [{"id": 1, "width": "640"}], "categories": [{"id": 1}], "annotations": []}""" },
        { "duplicate image", """{"images": [{"id": 1}, {"id": 1}], "categories": [], "annotations": []}""" },
        { "duplicate annotation", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}, {"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "area": 1, "iscrowd": 0}]}""" },
        { "missing list", """{"images": [], "categories": []}""" },
        { "list twice", """{"images": [], "categories": [], "annotations": [], "images": []}""" },
        { "bad skipped number", """{"images": [], "categories": [], "annotations": [], "info": [1, 2, 03]}""" },
        { "missing colon", """{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1 "image_id": 1}]}""" },
        { "not an object", """[]""" },
    };

    [Theory]
    [MemberData(nameof(BadGroundTruth))]
    public void FastReaderGivesUpOnGroundTruthItDoesNotRead(string what, string text) =>
        Assert.True(FastGroundTruth(text) is null, what);

    /// <summary>Through the public entry points: the reader parser's messages, naming the record.</summary>
    [Theory]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 1, "categ""", "malformed JSON in results[1]")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""", "results[1]: missing field 'category_id'")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2.3.4, 3, 4], "score": 0.5}]""", "malformed JSON in results[0]")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": "x", "score": 0.5}]""", "results[0]: 'bbox' must be a list [x, y, w, h]")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "high"}]""", "results[0]: 'score' must be a number, not the string \"high\"")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2, -3, 4], "score": 0.5}]""", "results[0]: bbox width is negative (-3)")]
    [InlineData("""[{"image_id": 1, "category_id": 1, "bbox": [1, 2, NaN, 4], "score": 0.5}]""", "non-finite number (NaN or Infinity) in results[0]")]
    public void ResultErrorsNameTheRecord(string text, string message)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pixelbox-fast-bad-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        try
        {
            var e = Assert.Throws<InputException>(() => CocoJson.ReadDetections(path, CocoIouType.Bbox));
            Assert.StartsWith($"{path}: ", e.Message);
            Assert.Contains(message, e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownImageIdIsStillAnError()
    {
        var gt = CocoJson.ParseGroundTruth(File.ReadAllBytes(SharedFiles.Fixture("coco", "tiny", "gt.json")), "gt.json", CocoIouType.Bbox);
        var dt = FastResults("""[{"image_id": 424242, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}]""");
        Assert.NotNull(dt);
        var e = Assert.Throws<InputException>(() => CocoFiles.Check(gt, "gt.json", dt, "dt.json", CocoIouType.Bbox));
        Assert.Equal("dt.json: results[0]: image_id 424242 is not an image of gt.json", e.Message);
    }

    /// <summary>A string full of fake record boundaries across every cut: the sequential retry reads it.</summary>
    [Fact]
    public void CutsInsideAStringFallBackToOnePass()
    {
        var decoy = string.Concat(Enumerable.Repeat("}, {", 3_000_000));
        var sb = new StringBuilder("[");
        for (int i = 0; i < 1000; i++)
            sb.Append($"{{\"image_id\": {i}, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.{i + 1}}}, ");
        sb.Append($"{{\"image_id\": 5, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.5, \"note\": \"{decoy}\"}}, ");
        sb.Append("{\"image_id\": 6, \"category_id\": 1, \"bbox\": [1, 2, 3, 4], \"score\": 0.25}]");
        AssertSameResults(sb.ToString());
    }
}
