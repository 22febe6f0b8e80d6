using System.Collections;
using PixelBox.Models.Segmentation;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>
/// Copies torchvision VGG16 weights (an ImageNet classifier's state dict) into an FCN, as the FCN paper
/// initialises from VGG16: <c>features.N</c> -> <c>backbone.features.N</c>; the fully connected layers
/// become convolutions, <c>classifier.0</c> (4096 x 25088) -> <c>fc6</c> (4096 x 512 x 7 x 7, the same
/// numbers since torchvision flattens pool5 channel-major) and <c>classifier.3</c> -> <c>fc7</c>
/// (4096 x 4096 x 1 x 1). The 1000-class <c>classifier.6</c> and the FCN's own score and upsampling
/// layers are left alone.
/// </summary>
public static class VggImport
{
    static readonly int[] ConvIndices = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];

    /// <summary>(source name in torchvision's vgg16 state dict, target name in <see cref="Fcn"/>).</summary>
    public static IReadOnlyList<(string Source, string Target)> FcnNameMap { get; } =
    [
        .. ConvIndices.SelectMany(i => new[]
        {
            ($"features.{i}.weight", $"backbone.features.{i}.weight"),
            ($"features.{i}.bias", $"backbone.features.{i}.bias"),
        }),
        ("classifier.0.weight", "fc6.weight"),
        ("classifier.0.bias", "fc6.bias"),
        ("classifier.3.weight", "fc7.weight"),
        ("classifier.3.bias", "fc7.bias"),
    ];

    /// <summary>Copies every mapped tensor of <paramref name="vgg16State"/> into <paramref name="fcn"/>;
    /// returns the target names. Throws ArgumentException naming the first missing tensor or misfit shape,
    /// before anything is copied.</summary>
    public static IReadOnlyList<string> IntoFcn(Fcn fcn, IReadOnlyDictionary<string, Tensor> vgg16State) =>
        Copy(fcn, vgg16State) is { } problem ? throw new ArgumentException(problem, nameof(vgg16State)) : [.. FcnNameMap.Select(m => m.Target)];

    /// <summary>As <see cref="IntoFcn(Fcn, IReadOnlyDictionary{string, Tensor})"/> from a file: a PyTorch
    /// state dict saved by <c>torch.save</c> (zip format) or a .safetensors file; problems are InputExceptions.</summary>
    public static IReadOnlyList<string> IntoFcn(Fcn fcn, string path)
    {
        Dictionary<string, Tensor> state;
        using var file = InputFile.OpenRead(path);
        try
        {
            state = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                ? Safetensors.LoadStateDict(file)
                : PyTorchUnpickler.UnpickleStateDict(file).Cast<DictionaryEntry>()
                    .ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        }
        catch (Exception e)
        {
            throw new InputException(path,
                $"not a readable state dict ({e.Message}); legacy torch files need re-saving with torch.save or as .safetensors", e);
        }
        try
        {
            return Copy(fcn, state) is { } problem ? throw new InputException(path, problem) : [.. FcnNameMap.Select(m => m.Target)];
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    /// <summary>Checks every pair first, then copies; returns the first problem (nothing copied) or null.</summary>
    static string? Copy(Fcn fcn, IReadOnlyDictionary<string, Tensor> vgg16State)
    {
        var target = fcn.state_dict();
        var pairs = new List<(Tensor Source, Tensor Target)>();
        foreach (var (sourceName, targetName) in FcnNameMap)
        {
            if (!vgg16State.TryGetValue(sourceName, out var source))
                return $"the VGG16 state dict has no '{sourceName}'";
            var into = target[targetName];
            // fc layers are reshaped (same element order), conv layers must match exactly
            if (source.numel() != into.numel() || (source.dim() == into.dim() && !source.shape.SequenceEqual(into.shape)))
                return $"'{sourceName}' is [{string.Join(", ", source.shape)}], '{targetName}' needs [{string.Join(", ", into.shape)}]";
            pairs.Add((source, into));
        }
        using var noGrad = no_grad();
        foreach (var (source, into) in pairs)
        {
            using var reshaped = source.reshape(into.shape);
            into.copy_(reshaped);
        }
        return null;
    }
}
