using System.Globalization;
using PixelBox.Interop;
using PixelBox.Models.Segmentation;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>
/// Starts a zoo model's encoder from a torchvision ImageNet classifier's state dict, for training (the
/// heads keep their initialisation). Name mapping, file -> backbone module (which sits under the model's
/// <c>backbone.</c>, or <c>enc.</c> for SegNet):
/// <list type="bullet">
/// <item><c>resnet50</c> / <c>resnet101</c>: <c>conv1.*</c>, <c>bn1.*</c>, <c>layer1..4.*</c> unchanged
/// (model: <c>backbone.conv1.weight</c>, ...); <c>fc.*</c> ignored.</item>
/// <item><c>mobilenet_v3_large</c>: <c>features.N.*</c> -> <c>N.*</c> (model: <c>backbone.N.*</c>);
/// <c>classifier.*</c> ignored.</item>
/// <item><c>vgg16_bn</c>: <c>features.K.*</c> with K the 13 convolutions 0, 3, 7, 10, 14, 17, 20, 24, 27,
/// 30, 34, 37, 40 -> <c>{stage}.{conv}.0.*</c> and K + 1 (their BatchNorms) -> <c>{stage}.{conv}.1.*</c>
/// (model: <c>enc.{stage}.{conv}.{0,1}.*</c>); <c>classifier.*</c> ignored.</item>
/// </list>
/// Strict by default over the backbone: every backbone tensor must come from the file and every file
/// tensor not ignored must land in the backbone. A model with other than 3 input channels gets the first
/// convolution adapted as timm does: summed over RGB for 1 channel, else RGB repeated and scaled by 3/C.
/// </summary>
public static class BackboneImport
{
    static readonly int[] VggBnConvIndices = [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40];

    /// <summary>Loads an ImageNet checkpoint file (.pth/.pt torch.save zip or .safetensors) into the model's encoder.</summary>
    public static StateDictReport ImageNet(SegmentationModel model, string path, bool strict = true)
    {
        var state = StateDictLoader.Read(path);
        try
        {
            return ImageNet(model, state, strict, path);
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    /// <summary>As <see cref="ImageNet(SegmentationModel, string, bool)"/> from tensors in memory.</summary>
    public static StateDictReport ImageNet(SegmentationModel model, IReadOnlyDictionary<string, Tensor> state, bool strict = true, string source = "state dict")
    {
        var (encoder, mapName, firstConv) = Encoder(model);
        var adapted = AdaptFirstConvolution(encoder, state, mapName, firstConv, out var note);
        try
        {
            var report = StateDictLoader.Load(encoder, adapted ?? state, strict, mapName, source);
            return note is null ? report : report with { Notes = [.. report.Notes, note] };
        }
        finally
        {
            if (adapted != null)
                foreach (var (name, t) in adapted)
                    if (!ReferenceEquals(t, state[name]))
                        t.Dispose();
        }
    }

    /// <summary>The model's encoder module, the file -> encoder name map and the encoder's first convolution.</summary>
    static (nn.Module Encoder, Func<string, string?> MapName, string FirstConv) Encoder(SegmentationModel model)
    {
        Backbone? backbone = model switch
        {
            SimpleSegmentationModel m => m.Backbone,
            LrAspp m => m.Backbone,
            DeepLabV3Plus m => m.Backbone,
            PspNet m => m.Backbone,
            SegNet m => m.Encoder,
            _ => null,
        };
        return backbone switch
        {
            ResNet r => (r, name => name.StartsWith("fc.", StringComparison.Ordinal) ? null : name, "conv1.weight"),
            MobileNetV3Large m => (m, MobileNetName, "0.0.weight"),
            Vgg16BnEncoder v => (v, VggBnName, "0.0.0.weight"),
            _ => throw new ArgumentException(
                $"{model.GetName()} has no torchvision ImageNet encoder (ResNet, MobileNetV3-Large or VGG16-BN); " +
                "the VGG16 FCNs load theirs with VggImport", nameof(model)),
        };
    }

    static string? MobileNetName(string name)
    {
        if (name.StartsWith("classifier.", StringComparison.Ordinal))
            return null;
        return name.StartsWith("features.", StringComparison.Ordinal) ? name["features.".Length..] : name;
    }

    static string? VggBnName(string name)
    {
        if (name.StartsWith("classifier.", StringComparison.Ordinal))
            return null;
        var parts = name.Split('.', 3);
        if (parts.Length != 3 || parts[0] != "features" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            return name;
        var conv = Array.IndexOf(VggBnConvIndices, index);
        var bn = Array.IndexOf(VggBnConvIndices, index - 1);
        var position = conv >= 0 ? (conv, 0) : bn >= 0 ? (bn, 1) : (-1, -1);
        if (position.Item1 < 0)
            return name;
        var (stage, within) = StageOf(position.Item1);
        return $"{stage}.{within}.{position.Item2}.{parts[2]}";
    }

    /// <summary>Stage and position within the stage of the n-th VGG16 convolution (2, 2, 3, 3, 3 per stage).</summary>
    static (int Stage, int Within) StageOf(int conv)
    {
        var stage = 0;
        foreach (var widths in Vgg16BnEncoder.StageWidths)
        {
            if (conv < widths.Count)
                return (stage, conv);
            conv -= widths.Count;
            stage++;
        }
        throw new ArgumentOutOfRangeException(nameof(conv));
    }

    /// <summary>A copy of the state with the first convolution's RGB weight adapted to the encoder's input
    /// channels, or null when nothing needs adapting.</summary>
    static Dictionary<string, Tensor>? AdaptFirstConvolution(nn.Module encoder, IReadOnlyDictionary<string, Tensor> state,
        Func<string, string?> mapName, string firstConv, out string? note)
    {
        note = null;
        var target = encoder.state_dict()[firstConv];
        var source = state.FirstOrDefault(kv => mapName(kv.Key) == firstConv);
        if (source.Value is not { } rgb || rgb.dim() != 4 || target.dim() != 4 || rgb.shape[1] != 3 || target.shape[1] == 3
            || rgb.shape[0] != target.shape[0] || rgb.shape[2] != target.shape[2] || rgb.shape[3] != target.shape[3])
            return null;
        var channels = target.shape[1];
        Tensor adapted;
        using (no_grad())
        {
            if (channels == 1)
                adapted = rgb.sum(1, keepdim: true);
            else
            {
                using var repeated = rgb.repeat(1, (channels + 2) / 3, 1, 1);
                using var cut = repeated.narrow(1, 0, channels);
                adapted = cut.mul(3.0 / channels);
            }
        }
        note = $"{source.Key}: RGB weights adapted to {channels} input channel{(channels == 1 ? "" : "s")} " +
               (channels == 1 ? "(summed)" : $"(repeated, scaled by 3/{channels})");
        var copy = state.ToDictionary();
        copy[source.Key] = adapted;
        return copy;
    }
}
