using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>
/// The convolutional part of VGG16 (Simonyan &amp; Zisserman, 2015) laid out exactly like torchvision's
/// <c>vgg16().features</c>: parameters are <c>features.{0,2,5,7,10,12,14,17,19,21,24,26,28}.{weight,bias}</c>,
/// so ImageNet weights load by name. Returns the outputs of the five max-pools as named feature maps
/// <c>pool1</c> (stride 2) ... <c>pool5</c> (stride 32); only the requested ones are kept.
/// </summary>
public sealed class Vgg16Features : nn.Module<Tensor, Dictionary<string, Tensor>>
{
    /// <summary>Widths of the 13 convolutions; 0 marks a 2x2/2 max-pool (torchvision's "D" configuration).</summary>
    static readonly int[] Configuration = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

    public static readonly IReadOnlyList<string> FeatureNames = ["pool1", "pool2", "pool3", "pool4", "pool5"];

    readonly Sequential features;
    readonly HashSet<string> returnLayers;

    /// <param name="inChannels">Image channels (ImageNet weights need 3).</param>
    /// <param name="firstConvPadding">Padding of conv1_1: 1 in torchvision, 100 in the FCN Caffe models.</param>
    /// <param name="ceilMode">Round pooled sizes up (Caffe) instead of down (torchvision).</param>
    /// <param name="returnLayers">Feature maps to return, a subset of <see cref="FeatureNames"/>.</param>
    public Vgg16Features(int inChannels = 3, int firstConvPadding = 1, bool ceilMode = false,
        IEnumerable<string>? returnLayers = null, Device? device = null) : base(nameof(Vgg16Features))
    {
        this.returnLayers = [.. returnLayers ?? FeatureNames];
        foreach (var name in this.returnLayers)
            if (!FeatureNames.Contains(name))
                throw new ArgumentException($"unknown VGG16 feature map '{name}' (known: {string.Join(", ", FeatureNames)})", nameof(returnLayers));

        features = nn.Sequential();
        long channels = inChannels;
        foreach (var width in Configuration)
        {
            if (width == 0)
            {
                features.append(nn.MaxPool2d(kernel_size: 2, stride: 2, ceil_mode: ceilMode));
                continue;
            }
            var padding = features.Count == 0 ? firstConvPadding : 1;
            features.append(nn.Conv2d(channels, width, kernel_size: 3, padding: padding, device: device));
            features.append(nn.ReLU(inplace: true));
            channels = width;
        }
        RegisterComponents();
    }

    /// <summary>The forward as an ONNX graph: the requested pooled maps by name.</summary>
    public Dictionary<string, OnnxValue> ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var maps = new Dictionary<string, OnnxValue>();
        var pools = 0;
        var h = input;
        for (var i = 0; i < features.Count && maps.Count < returnLayers.Count; i++)
        {
            h = graph.Apply((nn.Module)features[i], h);
            if (features[i] is MaxPool2d && returnLayers.Contains(FeatureNames[pools++]))
                maps[FeatureNames[pools - 1]] = h;
        }
        return maps;
    }

    /// <remarks>Intermediate activations that are not returned are disposed at once, so inference on
    /// large images holds only a few maps at a time.</remarks>
    public override Dictionary<string, Tensor> forward(Tensor input)
    {
        var maps = new Dictionary<string, Tensor>();
        var pools = 0;
        var h = input;
        var hOwned = false; // h is ours to dispose: neither the caller's input nor a returned map
        for (var i = 0; i < features.Count && maps.Count < returnLayers.Count; i++)
        {
            var layer = features[i];
            var next = layer.call(h);
            if (hOwned && !ReferenceEquals(next, h))
                h.Dispose();
            h = next;
            hOwned = true;
            if (layer is MaxPool2d)
            {
                var name = FeatureNames[pools++];
                if (returnLayers.Contains(name))
                {
                    maps[name] = h;
                    hOwned = false;
                }
            }
        }
        return maps;
    }
}
