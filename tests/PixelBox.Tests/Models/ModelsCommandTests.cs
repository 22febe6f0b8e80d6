using System.CommandLine;
using System.Text.Json;
using PixelBox.Cli;
using PixelBox.Models;

namespace PixelBox.Tests.Models;

/// <summary>`pixelbox models` run in-process; output goes to the invocation's writer, not the global console.</summary>
// The CLI writes to the process-global console: never in parallel with tests that capture it.
[Collection(PixelBox.Tests.Cli.CliRunner.Collection)]
public class ModelsCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var code = CliApp.Build().Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void JsonListsEveryModelWithItsPaperCount()
    {
        var (code, output, _) = Run("models", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(["unet", "unet-same", "fcn32s", "fcn16s", "fcn8s"], rows.Take(5).Select(r => r.GetProperty("name").GetString()));
        Assert.Equal(ModelRegistry.Names, rows.Select(r => r.GetProperty("name").GetString()));
        Assert.All(rows, r => Assert.Equal(
            ["name", "task", "params", "num_classes", "in_channels", "output_stride"], r.EnumerateObject().Select(p => p.Name)));
        var unet = rows[0];
        Assert.Equal(31_030_658, unet.GetProperty("params").GetInt64());
        Assert.Equal(2, unet.GetProperty("num_classes").GetInt32());
        Assert.Equal(1, unet.GetProperty("in_channels").GetInt32());
        Assert.Equal(136_152_917, rows[2].GetProperty("params").GetInt64());
        Assert.Equal(134_815_994, rows[3].GetProperty("params").GetInt64());
        Assert.Equal(134_489_759, rows[4].GetProperty("params").GetInt64());
        Assert.Equal("segmentation", rows[4].GetProperty("task").GetString());
        var byName = rows.ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.Equal(39_638_869, byName["deeplabv3-resnet50"].GetProperty("params").GetInt64());
        Assert.Equal(3_221_538, byName["lraspp-mobilenet-v3-large"].GetProperty("params").GetInt64());
        Assert.Equal(19, byName["hrnetv2-w48"].GetProperty("num_classes").GetInt32());
        Assert.Equal(8, byName["pspnet-resnet50"].GetProperty("output_stride").GetInt32());
        // ultralytics' YOLOv8n and YOLOv8s with 80 classes
        Assert.Equal(("detection", 3_157_200L, 80), (byName["yolo"].GetProperty("task").GetString(), byName["yolo"].GetProperty("params").GetInt64(), byName["yolo"].GetProperty("num_classes").GetInt32()));
        Assert.Equal(11_166_560, byName["yolo-s"].GetProperty("params").GetInt64());
        // torchvision's COCO detectors: 90 object classes (num_classes 91 with background)
        Assert.Equal(35_641_826, byName["ssd300-vgg16"].GetProperty("params").GetInt64());
        Assert.Equal(3_440_060, byName["ssdlite320-mobilenet-v3-large"].GetProperty("params").GetInt64());
    }

    [Fact]
    public void ClassAndChannelOptionsApplyToEveryModel()
    {
        var (code, output, _) = Run("models", "--json", "--num-classes", "5", "--in-channels", "3");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var rows = doc.RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("name").GetString()!);
        Assert.All(rows.Values, r => Assert.Equal((5, 3), (r.GetProperty("num_classes").GetInt32(), r.GetProperty("in_channels").GetInt32())));
        // ref_models.unet_same32(5, 3, batch_norm=True) under PyTorch (Reference/unet_same32_bn_c5.json):
        // the 7,760,229 of the BN-free benchmark network + 2,944 (each 3x3 conv trades its bias for BN's two vectors)
        Assert.Equal(7_763_173, rows["unet-same"].GetProperty("params").GetInt64());
    }

    [Fact]
    public void TableShowsNamesCountsAndPapers()
    {
        var (code, output, _) = Run("models");
        Assert.Equal(0, code);
        Assert.Contains("unet-same", output);
        Assert.Contains("31,030,658", output);
        Assert.Contains("134,489,759", output);
        Assert.Contains("Long, Shelhamer & Darrell, CVPR 2015", output);
        Assert.Contains("3,157,200", output);
    }

    [Fact]
    public void NonPositiveClassCountIsRejected()
    {
        var (code, _, err) = PixelBox.Tests.Cli.CliRunner.Run("models", "--num-classes", "0");
        Assert.Equal(2, code);
        Assert.Equal("error: --num-classes: must be between 1 and 100000 (got 0) (see 'pixelbox models --help')", err.Trim());
    }
}
