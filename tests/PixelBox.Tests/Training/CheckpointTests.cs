using System.Text.Json.Nodes;
using PixelBox.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Training;

public class CheckpointTests
{
    static string WriteOne(string dir, int seed = 1)
    {
        var path = Path.Combine(dir, "model.ckpt");
        var model = TinyTask.Model(seed);
        var header = TinyTask.Header;
        header["training"] = new JsonObject { ["epoch"] = 3 };
        Checkpoint.Write(path, header, model, null);
        return path;
    }

    [Fact]
    public void Round_trip_restores_weights_and_buffers_and_leaves_no_temp_file()
    {
        var dir = TinyTask.TempDir();
        var model = TinyTask.Model(1);
        using (var noGrad = torch.no_grad())
            model.state_dict()["bn1.running_var"].fill_(3.5f);
        var path = Path.Combine(dir, "m.ckpt");
        Checkpoint.Write(path, TinyTask.Header, model, null);
        Assert.Equal(["m.ckpt"], Directory.GetFiles(dir).Select(Path.GetFileName));

        var loaded = TinyTask.Model(2);
        var checkpoint = Checkpoint.Open(path);
        Assert.Equal("tiny", (string)checkpoint.Model["name"]!);
        Assert.Null(checkpoint.Training);
        Assert.False(checkpoint.HasOptimizerState);
        checkpoint.LoadModel(loaded);
        foreach (var (name, tensor) in model.state_dict())
            Assert.True(tensor.allclose(loaded.state_dict()[name], rtol: 0, atol: 0), name);
    }

    [Fact]
    public void A_crash_while_writing_leaves_the_previous_checkpoint_intact()
    {
        var dir = TinyTask.TempDir();
        var path = WriteOne(dir);
        var before = File.ReadAllBytes(path);

        // The environment's I/O failure becomes a user-facing error naming the file.
        var e = Assert.Throws<InputException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(before.AsSpan(0, before.Length / 2));
            throw new IOException("disk unplugged");
        }));
        Assert.Contains(path, e.Message);
        Assert.Contains("disk unplugged", e.Message);

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.ckpt"], Directory.GetFiles(dir).Select(Path.GetFileName));
        Checkpoint.Open(path).LoadModel(TinyTask.Model(5));
    }

    [Fact]
    public void Foreign_file_is_an_input_error_naming_the_file()
    {
        var path = Path.Combine(TinyTask.TempDir(), "notes.ckpt");
        File.WriteAllText(path, "hello, I am not a checkpoint");
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a PixelBox checkpoint", e.Message);
    }

    [Fact]
    public void Missing_file_is_an_input_error()
    {
        var path = Path.Combine(TinyTask.TempDir(), "absent.ckpt");
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Truncated_file_is_an_input_error()
    {
        var path = WriteOne(TinyTask.TempDir());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 10)]);
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Damaged_weights_are_an_input_error()
    {
        var path = WriteOne(TinyTask.TempDir());
        var bytes = File.ReadAllBytes(path);
        bytes[^5] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var checkpoint = Checkpoint.Open(path);
        var e = Assert.Throws<InputException>(() => checkpoint.LoadModel(TinyTask.Model(1)));
        Assert.Contains(path, e.Message);
        Assert.Contains("checksum", e.Message);
    }

    [Fact]
    public void Damaged_header_is_an_input_error()
    {
        var path = WriteOne(TinyTask.TempDir());
        var bytes = File.ReadAllBytes(path);
        bytes[20] = (byte)'}'; // inside the JSON header
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Weights_of_another_architecture_are_an_input_error()
    {
        var path = WriteOne(TinyTask.TempDir());
        var other = nn.Sequential(("conv1", nn.Conv2d(3, 5, 3)));
        var e = Assert.Throws<InputException>(() => Checkpoint.Open(path).LoadModel(other));
        Assert.Contains(path, e.Message);
    }
}
