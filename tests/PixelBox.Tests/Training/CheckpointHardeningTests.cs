using System.Text.Json.Nodes;
using PixelBox.Tests.IO;
using PixelBox.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

/// <summary>
/// Format 2: the header is checksummed, so a damaged header cannot change what resume obeys; every
/// truncation and every flipped bit of a checkpoint is refused with one line by some reader, before
/// anything is loaded; old, foreign and special files are named as such.
/// </summary>
public class CheckpointHardeningTests
{
    static string WriteOne(string dir, bool withOptimizer = true)
    {
        var path = Path.Combine(dir, "last.ckpt");
        var model = TinyTask.Model(1);
        var optimizer = new SGD(model.parameters(), 0.1, momentum: 0.9);
        var header = TinyTask.Header;
        header["training"] = new JsonObject { ["epochs"] = 1 };
        Checkpoint.Write(path, header, model, withOptimizer ? optimizer : null);
        return path;
    }

    /// <summary>Every reader a resume goes through; the first refusal, or null if everything loaded.</summary>
    static InputException? FirstRefusal(string path)
    {
        try
        {
            var checkpoint = Checkpoint.Open(path);
            _ = checkpoint.Model;
            var model = TinyTask.Model(3);
            checkpoint.LoadModel(model);
            checkpoint.LoadOptimizer(new SGD(model.parameters(), 0.1, momentum: 0.9));
            return null;
        }
        catch (InputException e)
        {
            return e;
        }
    }

    [Fact]
    public void A_flipped_bit_in_the_header_is_refused_instead_of_obeyed()
    {
        var path = WriteOne(TinyTask.TempDir());
        var bytes = File.ReadAllBytes(path);
        int at = bytes.AsSpan().IndexOf("\"epochs\":1"u8) + "\"epochs\":".Length;
        bytes[at] ^= 0x08; // '1' -> '9'
        File.WriteAllBytes(path, bytes);
        Assert.Equal($"{path}: corrupt checkpoint (checksum mismatch in the header)", Assert.Throws<InputException>(() => Checkpoint.Open(path)).Message);
    }

    [Fact]
    public void Every_single_bit_flip_is_refused_by_some_reader()
    {
        var path = WriteOne(TinyTask.TempDir());
        var original = File.ReadAllBytes(path);
        for (int i = 0; i < original.Length; i++)
        {
            var bytes = (byte[])original.Clone();
            bytes[i] ^= (byte)(1 << (i % 8));
            File.WriteAllBytes(path, bytes);
            var refusal = FirstRefusal(path);
            Assert.True(refusal is not null, $"a flipped bit at byte {i} of {original.Length} went unnoticed");
            Assert.StartsWith(path + ": ", refusal.Message);
            Assert.DoesNotContain('\n', refusal.Message);
        }
    }

    [Fact]
    public void Every_truncation_is_refused_when_opened()
    {
        var path = WriteOne(TinyTask.TempDir());
        var original = File.ReadAllBytes(path);
        for (int length = 0; length < original.Length; length += 1 + length / 16)
        {
            File.WriteAllBytes(path, original[..length]);
            var e = Assert.Throws<InputException>(() => Checkpoint.Open(path));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void A_format_1_checkpoint_is_named_as_such()
    {
        var path = WriteOne(TinyTask.TempDir());
        var bytes = File.ReadAllBytes(path);
        // format 1: "PIXELBOX-CKPT\n", the header length, the header (no checksum)
        int headerLength = BitConverter.ToInt32(bytes, 17);
        var old = "PIXELBOX-CKPT\n"u8.ToArray().Concat(bytes[17..21]).Concat(bytes[(21 + 32)..]).ToArray();
        File.WriteAllBytes(path, old);
        Assert.Equal($"{path}: checkpoint format 1 (written by an older PixelBox) is not supported: this build reads format 2; retrain, or load it with the PixelBox that wrote it",
            Assert.Throws<InputException>(() => Checkpoint.Open(path)).Message);
        File.WriteAllBytes(path, [.. "PIXELBOX-CKPT v3\n"u8, .. bytes[17..]]);
        Assert.Equal($"{path}: checkpoint format 3 (written by a newer PixelBox) is not supported: this build reads format 2",
            Assert.Throws<InputException>(() => Checkpoint.Open(path)).Message);
        Assert.True(headerLength > 0);
    }

    [Fact]
    public void Weights_of_another_architecture_name_the_first_difference()
    {
        var path = WriteOne(TinyTask.TempDir());
        var other = nn.Sequential(("conv1", nn.Conv2d(3, 5, 3)));
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path).LoadModel(other));
        Assert.Equal($"{path}: model weights do not fit the model (9 tensors in the file, 2 in the model)", e.Message);
        var wider = nn.Sequential(("conv1", nn.Conv2d(3, 7, 3, padding: 1)), ("bn1", nn.BatchNorm2d(6)), ("relu1", nn.ReLU()),
            ("drop", nn.Dropout2d(0.2)), ("head", nn.Conv2d(6, 2, 1)));
        e = Assert.Throws<InputException>(() => Checkpoint.Open(path).LoadModel(wider));
        Assert.Equal($"{path}: model weights do not fit the model (conv1.weight: shape [6, 3, 3, 3] in the file, [7, 3, 3, 3] in the model)", e.Message);
    }

    [Fact]
    public void Foreign_and_special_files_are_refused_with_what_they_are()
    {
        var dir = TinyTask.TempDir();
        var png = Path.Combine(dir, "image.ckpt");
        File.WriteAllBytes(png, [137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]);
        Assert.Equal($"{png}: not a PixelBox checkpoint", Assert.Throws<InputException>(() => Checkpoint.Open(png)).Message);
        var fifo = SpecialFiles.Fifo(Path.Combine(dir, "fifo.ckpt"));
        Assert.Equal($"{fifo}: is a FIFO (named pipe), not a regular file", Assert.Throws<InputException>(() => Checkpoint.Open(fifo)).Message);
        Assert.Equal($"{dir}: is a folder, not a file", Assert.Throws<InputException>(() => Checkpoint.Open(dir)).Message);
        var sparse = SpecialFiles.Sparse(Path.Combine(dir, "zeros.ckpt"), 2L << 30);
        Assert.Equal($"{sparse}: not a PixelBox checkpoint", Assert.Throws<InputException>(() => Checkpoint.Open(sparse)).Message);
    }

    [Fact]
    public void A_checksum_consistent_header_that_is_not_a_segmentation_model_is_refused_with_one_line()
    {
        var path = WriteOne(TinyTask.TempDir());
        var checkpoint = Checkpoint.Open(path);
        var e = Assert.Throws<InputException>(() => SegmentationModelInfo.FromCheckpoint(checkpoint));
        Assert.StartsWith($"{path}: not a segmentation checkpoint", e.Message);
        var training = Assert.Throws<InputException>(() => Trainer.ReadOptions(checkpoint));
        Assert.StartsWith($"{path}: corrupt training state in checkpoint (", training.Message);
        Assert.DoesNotContain('\n', training.Message);
    }
}
