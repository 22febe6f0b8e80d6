using PixelBox.Data;
using PixelBox.Models;
using PixelBox.Models.Detection.Ssd;
using PixelBox.Tests.Data;
using PixelBox.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Cli;

/// <summary>
/// `pixelbox import` without Python: state dicts written by TorchSharp.PyBridge (torch.save zip and
/// safetensors) of registry models, loaded strictly and non-strictly, and every kind of bad input as one
/// line `error: FILE: problem`, exit 2, with nothing written.
/// </summary>
[Collection(CliRunner.Collection)]
public class ImportCommandTests
{
    const string Arch = "lraspp-mobilenet-v3-large";
    const int Classes = 2;

    /// <summary>A state dict of <see cref="Arch"/> with <paramref name="classes"/> classes, as .pth or .safetensors.</summary>
    static string WriteStateDict(TempDir tmp, string file, int classes = Classes, Func<string, bool>? keep = null)
    {
        var path = tmp.Combine(file);
        using var model = ModelRegistry.Get(Arch).CreateSegmentation(classes, 3);
        var state = model.state_dict().Where(kv => keep?.Invoke(kv.Key) ?? true).ToDictionary(kv => kv.Key, kv => kv.Value);
        if (file.EndsWith(".safetensors", StringComparison.Ordinal))
            Safetensors.SaveStateDict(path, state);
        else
        {
            Assert.Null(keep); // save_py writes the whole module
            model.save_py(path);
        }
        return path;
    }

    static (int Code, string Out, string Err) Import(params string[] args) => CliRunner.Run(["import", .. args]);

    /// <summary>One line `error: FILE: problem`, exit 2, naming <paramref name="file"/>; no checkpoint.</summary>
    static string AssertOneLineError((int Code, string Out, string Err) run, string file, string? output = null)
    {
        Assert.Equal(2, run.Code);
        var last = run.Err.TrimEnd().Split('\n')[^1];
        Assert.StartsWith($"error: {file}: ", last);
        Assert.DoesNotContain("   at ", run.Err);
        if (output is not null)
            Assert.False(File.Exists(output), "a checkpoint was written");
        return last;
    }

    [Theory]
    [InlineData("weights.pth")]
    [InlineData("weights.safetensors")]
    public void Imports_every_entry_strictly_into_a_checkpoint_predict_seg_loads(string file)
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, file);
        var output = tmp.Combine("model.ckpt");
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", $"{Classes}", "--out", output);
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("every entry fits", run.Out);

        var checkpoint = Checkpoint.Open(output);
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        Assert.Equal((Arch, Classes, 3), (info.Name, info.NumClasses, info.InChannels));
        Assert.Equal(Normalization.ImageNet.Mean, info.Normalization.Mean);
        Assert.Equal(Normalization.ImageNet.Std, info.Normalization.Std);
        using var loaded = info.CreateModel();
        checkpoint.LoadModel(loaded);
        var expected = StateDictOf(weights);
        foreach (var (name, tensor) in loaded.state_dict())
            if (expected.TryGetValue(name, out var value))
                Assert.True(value.reshape(tensor.shape).allclose(tensor, rtol: 0, atol: 0), name);
            else
                Assert.EndsWith("num_batches_tracked", name);
    }

    static Dictionary<string, Tensor> StateDictOf(string path) => PixelBox.Interop.StateDictLoader.Read(path);

    [Fact]
    public void Mean_and_std_are_stored_in_the_checkpoint()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var output = tmp.Combine("model.ckpt");
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output, "--mean", "0.5, 0.25,0", "--std", "0.5,0.5,1e-2");
        Assert.True(run.Code == 0, run.Err);
        var info = SegmentationModelInfo.FromCheckpoint(Checkpoint.Open(output));
        Assert.Equal([0.5f, 0.25f, 0f], info.Normalization.Mean);
        Assert.Equal([0.5f, 0.5f, 0.01f], info.Normalization.Std);
    }

    [Theory]
    [InlineData("--mean", "0.5,0.5")]
    [InlineData("--mean", "a,b,c")]
    [InlineData("--mean", "0.5,0.5,NaN")]
    [InlineData("--std", "0.5,0,0.5")]
    [InlineData("--std", "0.5,-1,0.5")]
    [InlineData("--std", "1,2,3,4")]
    public void Bad_normalisation_is_one_line_naming_the_option(string option, string value)
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var output = tmp.Combine("model.ckpt");
        AssertOneLineError(Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output, option, value), option, output);
    }

    [Fact]
    public void A_missing_weights_file_is_one_line_naming_it()
    {
        using var tmp = new TempDir();
        var missing = tmp.Combine("nope.pth");
        var output = tmp.Combine("model.ckpt");
        var line = AssertOneLineError(Import("--arch", Arch, "--weights", missing, "--num-classes", "2", "--out", output), missing, output);
        Assert.Contains("not found", line);
    }

    [Fact]
    public void A_folder_or_a_fifo_as_weights_is_one_line_naming_it()
    {
        using var tmp = new TempDir();
        var folder = Directory.CreateDirectory(tmp.Combine("weights.pth")).FullName;
        var output = tmp.Combine("model.ckpt");
        Assert.Contains("is a folder", AssertOneLineError(Import("--arch", Arch, "--weights", folder, "--num-classes", "2", "--out", output), folder, output));
        if (!OperatingSystem.IsLinux())
            return;
        var fifo = IO.SpecialFiles.Fifo(tmp.Combine("fifo.pth"));
        AssertOneLineError(Import("--arch", Arch, "--weights", fifo, "--num-classes", "2", "--out", output), fifo, output);
    }

    [Theory]
    [InlineData("text.pth", "just some text, not a state dict\n")]
    [InlineData("empty.safetensors", "")]
    [InlineData("broken.safetensors", "\u0010\0\0\0\0\0\0\0{\"a\": [1, 2")]
    public void A_file_that_is_not_a_state_dict_is_one_line_naming_it(string file, string content)
    {
        using var tmp = new TempDir();
        var path = tmp.Combine(file);
        File.WriteAllText(path, content);
        var output = tmp.Combine("model.ckpt");
        AssertOneLineError(Import("--arch", Arch, "--weights", path, "--num-classes", "2", "--out", output), path, output);
    }

    [Fact]
    public void A_zip_that_is_not_a_torch_save_file_is_one_line_naming_it()
    {
        using var tmp = new TempDir();
        var path = tmp.Combine("archive.pth");
        using (var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create))
        using (var writer = new StreamWriter(zip.CreateEntry("readme.txt").Open()))
            writer.Write("hello");
        var output = tmp.Combine("model.ckpt");
        AssertOneLineError(Import("--arch", Arch, "--weights", path, "--num-classes", "2", "--out", output), path, output);
    }

    [Fact]
    public void An_unknown_architecture_is_one_line()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var output = tmp.Combine("model.ckpt");
        var line = AssertOneLineError(Import("--arch", "resnet9000", "--weights", weights, "--num-classes", "2", "--out", output), "--arch", output);
        Assert.Contains("unknown model 'resnet9000'", line);
    }

    [Fact]
    public void A_task_mismatch_is_one_line()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var output = tmp.Combine("model.ckpt");
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output, "--task", "det");
        Assert.Single(run.Err.TrimEnd().Split('\n'));
        Assert.Contains("is a segmentation model, not a detection model", AssertOneLineError(run, "--task", output));
    }

    /// <summary>Strict: the wrong-shape entries with both shapes, the class count the file fits, then the error line; nothing written.</summary>
    [Fact]
    public void A_wrong_class_count_lists_the_wrong_shapes_and_the_count_that_fits()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.pth", classes: 3);
        var output = tmp.Combine("model.ckpt");
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output);
        var line = AssertOneLineError(run, weights, output);
        Assert.Contains("4 of wrong shape", line);
        Assert.Contains("the file fits --num-classes 3", line);
        Assert.Contains("classifier.low_classifier.weight: file [3, 40, 1, 1], model [2, 40, 1, 1]", run.Err);
        Assert.Contains("classifier.high_classifier.bias: file [3], model [2]", run.Err);
    }

    [Fact]
    public void Non_strict_loads_what_fits_and_reports_the_rest()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "partial.safetensors", keep: name => !name.StartsWith("classifier.", StringComparison.Ordinal));
        var output = tmp.Combine("model.ckpt");
        var strict = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output);
        AssertOneLineError(strict, weights, output);
        Assert.Contains("missing (in the model, not in the file)", strict.Err);

        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", output, "--non-strict");
        Assert.True(run.Code == 0, run.Err);
        Assert.Contains("classifier.low_classifier.weight", run.Err);
        Assert.Contains("freshly initialised", run.Out);
        var info = SegmentationModelInfo.FromCheckpoint(Checkpoint.Open(output));
        Assert.Equal(Arch, info.Name);
    }

    /// <summary>A file of another architecture: a bounded list (20 names per kind, then "... N more"), and even
    /// --non-strict refuses when nothing at all fits.</summary>
    [Fact]
    public void Another_architecture_gives_a_bounded_report_and_fails_even_non_strict()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var output = tmp.Combine("model.ckpt");
        var run = Import("--arch", "deeplabv3-resnet50", "--weights", weights, "--num-classes", "2", "--out", output);
        AssertOneLineError(run, weights, output);
        Assert.InRange(run.Err.Split('\n').Length, 10, 60);
        Assert.Contains("more", run.Err);
        var nonStrict = Import("--arch", "deeplabv3-resnet50", "--weights", weights, "--num-classes", "2", "--out", output, "--non-strict");
        Assert.Contains("no entry of the state dict fits", AssertOneLineError(nonStrict, weights, output));
    }

    [Fact]
    public void The_checkpoint_may_not_replace_the_weights()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var before = File.ReadAllBytes(weights);
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "2", "--out", weights);
        AssertOneLineError(run, weights);
        Assert.Equal(before, File.ReadAllBytes(weights));
    }

    [Fact]
    public void A_class_count_out_of_range_is_one_line()
    {
        using var tmp = new TempDir();
        var weights = WriteStateDict(tmp, "w.safetensors");
        var run = Import("--arch", Arch, "--weights", weights, "--num-classes", "0", "--out", tmp.Combine("m.ckpt"));
        Assert.Equal(2, run.Code);
        Assert.StartsWith("error: --num-classes", run.Err);
    }

    /// <summary>A detector: torchvision's settings of the architecture, and torchvision's labels (PixelBox's + 1) as category ids.</summary>
    [Fact]
    public void A_detector_gets_torchvisions_settings_and_labels()
    {
        using var tmp = new TempDir();
        var weights = tmp.Combine("ssdlite.safetensors");
        using (var model = ModelRegistry.Get("ssdlite320-mobilenet-v3-large").CreateDetection(3, 3))
            Safetensors.SaveStateDict(weights, model.state_dict());
        var output = tmp.Combine("det.ckpt");
        var wrong = Import("--arch", "ssdlite320-mobilenet-v3-large", "--weights", weights, "--num-classes", "4", "--out", output);
        Assert.Contains("the file fits --num-classes 3 (torchvision's num_classes 4 counts the background)", AssertOneLineError(wrong, weights, output));
        var run = Import("--arch", "ssdlite320-mobilenet-v3-large", "--weights", weights, "--num-classes", "3", "--out", output, "--task", "det");
        Assert.True(run.Code == 0, run.Err);
        var info = DetectionModelInfo.FromCheckpoint(Checkpoint.Open(output));
        var expected = Ssd.SsdLite320Settings();
        Assert.Equal(expected, info.Settings with { Normalization = expected.Normalization });
        Assert.Equal(expected.Normalization.Mean, info.Settings.Normalization.Mean);
        Assert.Equal(expected.Normalization.Std, info.Settings.Normalization.Std);
        Assert.Equal([1L, 2, 3], info.CategoryIds);
    }
}
