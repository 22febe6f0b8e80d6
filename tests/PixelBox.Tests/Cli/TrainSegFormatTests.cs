using PixelBox.Data;
using PixelBox.Tests.Data;
using PixelBox.Tests.Data.Segmentation;
using PixelBox.Training;

namespace PixelBox.Tests.Cli;

[Collection(CliRunner.Collection)]
public class TrainSegFormatTests
{
    [Fact]
    public void Trains_on_a_voc_folder_with_its_21_classes_and_keeps_the_format_when_resuming()
    {
        using var tmp = new TempDir();
        var voc = SegmentationTestData.Voc(tmp.Combine("VOC2012"));
        var run = tmp.Combine("run");
        var (code, stdout, stderr) = CliRunner.Run("train", "seg", "--format", "voc", "--data", voc, "--model", "unet-same", "--width", "4", "--depth", "3",
            "--out", run, "--iterations", "2", "--batch-size", "1", "--threads", "1");
        Assert.True(code == 0, stdout + stderr);

        var checkpoint = Checkpoint.Open(Path.Combine(run, Trainer.LastCheckpointName));
        var info = SegmentationModelInfo.FromCheckpoint(checkpoint);
        Assert.Equal(21, info.NumClasses);
        Assert.Equal(SegmentationFormats.Voc.Open(voc, "train").ClassNames, info.ClassNames);
        Assert.Equal("voc", checkpoint.Header["task"]!["format"]!.GetValue<string>());
        Assert.Equal(2, TrainingState.FromJson(checkpoint.Training!, checkpoint.Path).Iteration);

        // the format is stored: resuming reads VOC again, and refuses another format
        (code, _, stderr) = CliRunner.Run("train", "seg", "--out", run, "--resume", "--format", "masks", "--threads", "1");
        Assert.Equal(2, code);
        Assert.StartsWith("error: --format: cannot be changed when resuming", stderr.Trim());
        (code, stdout, stderr) = CliRunner.Run("train", "seg", "--out", run, "--resume", "--iterations", "3", "--threads", "1");
        Assert.True(code == 0, stdout + stderr);
        Assert.Equal(3, TrainingState.FromJson(Checkpoint.Open(Path.Combine(run, Trainer.LastCheckpointName)).Training!, run).Iteration);

        // the mask-folder reader does not take a VOC folder: the default format is unchanged
        (code, _, stderr) = CliRunner.Run("train", "seg", "--data", voc, "--model", "unet-same", "--out", tmp.Combine("run2"), "--iterations", "1");
        Assert.Equal(2, code);
        Assert.Contains("images: folder not found; a mask-folder dataset", stderr);
    }
}
