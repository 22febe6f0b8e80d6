using PixelBox.Interop;
using PixelBox.Tests.Models;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Tests.Interop;

/// <summary>The strict/non-strict state-dict loader on files written in C# (no Python needed).</summary>
public class StateDictLoaderTests : IDisposable
{
    readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("pixelbox-statedict-");

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        dir.Delete(recursive: true);
    }

    string PathOf(string name) => Path.Combine(dir.FullName, name);

    static Sequential Tiny(long outChannels = 4) => nn.Sequential(nn.Conv2d(3, outChannels, 3), nn.BatchNorm2d(outChannels));

    static Dictionary<string, Tensor> Values(nn.Module module) => module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    static void AssertSameState(IReadOnlyDictionary<string, Tensor> expected, nn.Module actual)
    {
        var state = actual.state_dict();
        Assert.Equal(expected.Keys.Order(), state.Keys.Order());
        foreach (var (name, value) in expected)
            Assert.True(value.reshape(state[name].shape).allclose(state[name], rtol: 0, atol: 0), name);
    }

    [Theory]
    [InlineData(".pth")]
    [InlineData(".safetensors")]
    public void StrictLoadOfAMatchingFileCopiesEveryEntry(string format)
    {
        using var source = Tiny();
        using (no_grad())
            ((BatchNorm2d)source[1]).running_mean!.uniform_(-1, 1);
        var path = PathOf("tiny" + format);
        if (format == ".pth")
            source.save_py(path);
        else
            Safetensors.SaveStateDict(path, source.state_dict());
        using var target = Tiny();
        ModelParity.Poison(target);
        var report = StateDictLoader.Load(target, path);
        Assert.True(report.IsExact);
        Assert.Equal(7, report.Loaded.Count); // conv weight, bias; BatchNorm weight, bias, mean, var, counter
        AssertSameState(Values(source), target);
    }

    [Fact]
    public void StrictLoadListsEveryProblemAndChangesNothing()
    {
        using var source = nn.Sequential(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(5), nn.Conv2d(5, 2, 1));
        var path = PathOf("other.safetensors");
        Safetensors.SaveStateDict(path, source.state_dict());
        using var target = Tiny();
        var before = Values(target);
        var e = Assert.Throws<InputException>(() => StateDictLoader.Load(target, path));
        Assert.StartsWith(path + ": state dict does not fit the model: ", e.Message);
        Assert.Contains("2 unexpected (2.bias, 2.weight)", e.Message);
        Assert.Contains("of wrong shape (0.bias: file [5], model [4], 0.weight: file [5, 3, 3, 3], model [4, 3, 3, 3], 1.bias", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        AssertSameState(before, target);
    }

    [Fact]
    public void NonStrictLoadCopiesWhatFitsAndReportsTheRest()
    {
        using var source = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(5));
        var path = PathOf("partial.safetensors");
        var state = source.state_dict();
        state.Remove("0.bias");
        Safetensors.SaveStateDict(path, state);
        using var target = Tiny();
        var report = StateDictLoader.Load(target, path, strict: false);
        Assert.Equal(["0.bias"], report.Missing);
        Assert.Equal(["1.bias", "1.running_mean", "1.running_var", "1.weight"], report.WrongShapes.Select(w => w.Name).Order());
        Assert.Equal(["0.weight", "1.num_batches_tracked"], report.Loaded.Order());
        Assert.True(state["0.weight"].allclose(target.state_dict()["0.weight"], rtol: 0, atol: 0));
        Assert.Contains("missing (in the model, not in the file) (1):\n  0.bias", report.ToString());
    }

    [Fact]
    public void BatchNormCountersAreOptionalOnEitherSide()
    {
        using var source = Tiny();
        var state = source.state_dict();
        state.Remove("1.num_batches_tracked");
        var path = PathOf("nocounter.safetensors");
        Safetensors.SaveStateDict(path, state);
        using var target = Tiny();
        var report = StateDictLoader.Load(target, path);
        Assert.True(report.IsExact);
        Assert.Contains(report.Notes, n => n.Contains("1 BatchNorm num_batches_tracked counters not in the file"));

        using var withoutStats = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats: false));
        var fromFull = PathOf("full.safetensors");
        Safetensors.SaveStateDict(fromFull, new Dictionary<string, Tensor>
        {
            ["0.weight"] = zeros(4, 3, 3, 3), ["0.bias"] = zeros(4), ["1.weight"] = ones(4), ["1.bias"] = zeros(4),
            ["1.num_batches_tracked"] = tensor(3L),
        });
        Assert.True(StateDictLoader.Load(withoutStats, fromFull).IsExact);
    }

    [Fact]
    public void NameMapRenamesAndDropsEntries()
    {
        using var source = Tiny();
        var state = source.state_dict().ToDictionary(kv => "features." + kv.Key, kv => kv.Value);
        state["classifier.weight"] = ones(10, 4);
        using var target = Tiny();
        var report = StateDictLoader.Load(target, state, mapName: n => n.StartsWith("classifier.") ? null : n["features.".Length..]);
        Assert.True(report.IsExact);
        Assert.Equal(["classifier.weight"], report.Ignored);
    }

    [Fact]
    public void UnreadableFilesAreInputErrorsNamingTheFile()
    {
        using var target = Tiny();
        var missing = PathOf("missing.pth");
        Assert.Equal($"{missing}: file not found", Assert.Throws<InputException>(() => StateDictLoader.Load(target, missing)).Message);
        var junk = PathOf("junk.pth");
        File.WriteAllText(junk, "not a state dict at all");
        Assert.StartsWith($"{junk}: neither a torch.save zip file", Assert.Throws<InputException>(() => StateDictLoader.Load(target, junk)).Message);
        var empty = PathOf("empty.safetensors");
        File.WriteAllBytes(empty, []);
        Assert.Throws<InputException>(() => StateDictLoader.Load(target, empty));
        var truncated = PathOf("truncated.safetensors");
        Safetensors.SaveStateDict(PathOf("whole.safetensors"), target.state_dict());
        var bytes = File.ReadAllBytes(PathOf("whole.safetensors"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.StartsWith($"{truncated}: ", Assert.Throws<InputException>(() => StateDictLoader.Load(target, truncated)).Message);
    }
}

/// <summary>State dicts as PyTorch users save them (Reference/make_zoo_references.py 'checkpoints').</summary>
public sealed class CheckpointReferences() : PythonReferences("checkpoints");

public class PyTorchCheckpointTests(CheckpointReferences references) : IClassFixture<CheckpointReferences>
{
    static Sequential Tiny() => nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4));

    Dictionary<string, Tensor> Plain()
    {
        using var model = Tiny();
        StateDictLoader.Load(model, references.PathOf("plain.pth"));
        return model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    [PythonTorchTheory]
    [InlineData("nested.pth", null)]
    [InlineData("dataparallel.pth", "'module.' prefix removed")]
    public void WrappedStateDictsLoadLikeThePlainOne(string file, string? note)
    {
        var plain = Plain();
        Assert.Equal(7L, plain["1.num_batches_tracked"].item<long>());
        using var model = Tiny();
        var report = StateDictLoader.Load(model, references.PathOf(file));
        Assert.True(report.IsExact, report.ToString());
        if (note != null)
            Assert.Contains(report.Notes, n => n.Contains(note));
        foreach (var (name, value) in model.state_dict())
            Assert.True(value.allclose(plain[name].reshape(value.shape), rtol: 0, atol: 0), name);
    }

    [PythonTorchFact]
    public void HalfPrecisionWeightsAreConverted()
    {
        var plain = Plain();
        using var model = Tiny();
        Assert.True(StateDictLoader.Load(model, references.PathOf("half.pth")).IsExact);
        using var expected = plain["0.weight"].to_type(ScalarType.Float16).to_type(ScalarType.Float32);
        Assert.True(model.state_dict()["0.weight"].allclose(expected, rtol: 0, atol: 0));
    }

    [PythonTorchFact]
    public void LegacyFormatIsAnInputErrorSayingWhatToDo()
    {
        using var model = Tiny();
        var path = references.PathOf("legacy.pth");
        var e = Assert.Throws<InputException>(() => StateDictLoader.Load(model, path));
        Assert.Equal($"{path}: a legacy (pre-1.6) torch.save file; re-save it with a current torch.save or as .safetensors", e.Message);
    }
}
