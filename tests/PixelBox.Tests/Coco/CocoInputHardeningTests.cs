using System.Text;
using PixelBox.Coco;
using PixelBox.Tests.Data;
using PixelBox.Tests.IO;

namespace PixelBox.Tests.Coco;

/// <summary>
/// COCO files that are not what they claim: more than one JSON value, not JSON at all (and huge), nested
/// without end, bad text. Each fails with one line naming the file and the problem, through the public
/// readers (the fast path first, then the general parser), and fails in its first bytes when it can.
/// </summary>
public class CocoInputHardeningTests
{
    const string Results = """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9}]""";
    const string GroundTruth = """{"images": [{"id": 1, "width": 10, "height": 10}], "categories": [{"id": 1, "name": "a"}], "annotations": []}""";

    static string Write(TempDir tmp, string name, string text)
    {
        var path = tmp.Combine(name);
        File.WriteAllText(path, text);
        return path;
    }

    [Theory]
    [InlineData(CocoIouType.Bbox)]
    [InlineData(CocoIouType.Segm)]
    public void Two_results_lists_back_to_back_are_refused(CocoIouType iouType)
    {
        using var tmp = new TempDir();
        var dt = Write(tmp, "dt.json", Results + "\n" + Results);
        var e = Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, iouType));
        Assert.Equal($"{dt}: unexpected data after the JSON value at line 2, column 1 (a COCO file holds one JSON value)", e.Message);
    }

    [Fact]
    public void Trailing_garbage_after_either_file_is_refused_but_whitespace_and_comments_are_not()
    {
        using var tmp = new TempDir();
        var dt = Write(tmp, "dt.json", Results + " x");
        Assert.Equal($"{dt}: unexpected data after the JSON value at line 1, column {Results.Length + 2} (a COCO file holds one JSON value)",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, CocoIouType.Bbox)).Message);
        var gt = Write(tmp, "gt.json", GroundTruth + "}");
        Assert.StartsWith($"{gt}: unexpected data after the JSON value at line 1, column ",
            Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(gt, CocoIouType.Bbox)).Message);
        Assert.Single(CocoJson.ReadDetections(Write(tmp, "ok.json", Results + " \n\t// the end\n"), CocoIouType.Bbox).ImageId);
        Assert.Empty(CocoJson.ReadGroundTruth(Write(tmp, "ok-gt.json", GroundTruth + "/* done */ \r\n"), CocoIouType.Segm).AnnotationId);
    }

    [Fact]
    public void A_huge_file_of_zeros_fails_in_its_first_bytes()
    {
        using var tmp = new TempDir();
        var zeros = SpecialFiles.Sparse(tmp.Combine("zeros.json"), 1L << 30);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Equal($"{zeros}: results must be a JSON list of objects (the file starts with bytes 00000000)",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(zeros, CocoIouType.Bbox)).Message);
        Assert.Equal($"{zeros}: results must be a JSON list of objects (the file starts with bytes 00000000)",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(zeros, CocoIouType.Segm)).Message);
        Assert.Equal($"{zeros}: the ground truth must be a JSON object with images, annotations and categories (the file starts with bytes 00000000)",
            Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(zeros, CocoIouType.Bbox)).Message);
        // nothing of the gigabyte was copied into memory
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20);
    }

    [Fact]
    public void Files_past_2_GB_are_refused_by_size()
    {
        using var tmp = new TempDir();
        var huge = SpecialFiles.Sparse(tmp.Combine("huge.json"), 2L << 30);
        Assert.Equal($"{huge}: file is too large (2 GB; a COCO JSON file is at most 2 GB)",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(huge, CocoIouType.Bbox)).Message);
    }

    [Fact]
    public void Text_that_is_not_json_names_its_first_bytes()
    {
        using var tmp = new TempDir();
        var dt = Write(tmp, "dt.json", "image_id,category_id\n1,2\n");
        Assert.Equal($"{dt}: results must be a JSON list of objects (the file starts with 'image_id')",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, CocoIouType.Bbox)).Message);
        var blank = Write(tmp, "blank.json", " \n ");
        Assert.Equal($"{blank}: the file is empty", Assert.Throws<InputException>(() => CocoJson.ReadDetections(blank, CocoIouType.Bbox)).Message);
    }

    [Fact]
    public void Nesting_100000_deep_fails_fast_with_one_line()
    {
        using var tmp = new TempDir();
        var deep = new string('[', 100_000);
        var dt = Write(tmp, "dt.json", deep);
        Assert.Equal($"{dt}: results[0]: must be a JSON object", Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, CocoIouType.Bbox)).Message);
        var inRecord = Write(tmp, "dt2.json", """[{"image_id": 1, "extra": """ + deep);
        var e = Assert.Throws<InputException>(() => CocoJson.ReadDetections(inRecord, CocoIouType.Bbox));
        Assert.StartsWith($"{inRecord}: malformed JSON in results[0] at line 1, column ", e.Message);
        Assert.Contains("depth of 64", e.Message);
        var gt = Write(tmp, "gt.json", """{"info": """ + deep);
        e = Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(gt, CocoIouType.Bbox));
        Assert.StartsWith($"{gt}: malformed JSON at line 1, column ", e.Message);
        Assert.Contains("depth of 64", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Bad_text_in_strings_is_an_input_error()
    {
        using var tmp = new TempDir();
        var gt = tmp.Combine("gt.json");
        File.WriteAllBytes(gt, [.. Encoding.ASCII.GetBytes("""{"images": [], "annotations": [], "categories": [{"id": 1, "name": "a"""), 0xFF, .. "\"}]}"u8]);
        Assert.Equal($"{gt}: categories[0]: a string is not valid UTF-8 (at byte 67)",
            Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(gt, CocoIouType.Bbox)).Message);
        var dt = Write(tmp, "dt.json", """[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "line\nbreak"}]""");
        var e = Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, CocoIouType.Bbox));
        Assert.Equal($"{dt}: results[0]: 'score' must be a number, not the string \"line\\nbreak\"", e.Message);
    }

    [Fact]
    public void Rle_counts_beyond_32_bits_are_an_input_error()
    {
        using var tmp = new TempDir();
        var dt = Write(tmp, "dt.json", """[{"image_id": 1, "category_id": 1, "score": 1, "segmentation": {"size": [2, 2], "counts": [9000000000000000000, 9000000000000000000]}}]""");
        Assert.Equal($"{dt}: results[0]: RLE 'counts' holds 9000000000000000000, more than a run can be (at most 4294967295)",
            Assert.Throws<InputException>(() => CocoJson.ReadDetections(dt, CocoIouType.Segm)).Message);
    }

    [Fact]
    public void A_fifo_or_a_folder_as_a_coco_file_is_refused()
    {
        using var tmp = new TempDir();
        var fifo = SpecialFiles.Fifo(tmp.Combine("dt.json"));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Assert.Throws<InputException>(() => CocoJson.ReadDetections(fifo, CocoIouType.Bbox)).Message);
        Assert.Equal($"{tmp.Path}: is a folder, not a file", Assert.Throws<InputException>(() => CocoJson.ReadGroundTruth(tmp.Path, CocoIouType.Segm)).Message);
    }
}
