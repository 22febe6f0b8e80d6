using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models.Backbones;

/// <summary>One feature map a backbone returns: the name it is returned under, its channels and its
/// stride (input side / map side, rounded up for sides that are not multiples of it).</summary>
public sealed record FeatureMap(string Name, int Channels, int Stride);

/// <summary>
/// An image encoder that returns named feature maps, like torchvision's <c>IntermediateLayerGetter</c>:
/// the layers asked for are returned under the names asked for ("out", "aux", "low", ...), and layers
/// after the deepest one asked for are not built at all (so the state dict has exactly torchvision's keys).
/// </summary>
public abstract class Backbone : nn.Module<Tensor, Dictionary<string, Tensor>>
{
    protected Backbone(string name) : base(name)
    {
    }

    /// <summary>The maps <see cref="nn.Module{T, TResult}.forward"/> returns, shallowest first.</summary>
    public abstract IReadOnlyList<FeatureMap> Returns { get; }

    /// <summary>The returned map called <paramref name="name"/>.</summary>
    public FeatureMap this[string name] =>
        Returns.FirstOrDefault(m => m.Name == name)
        ?? throw new ArgumentException($"the backbone returns no map '{name}' (it returns {string.Join(", ", Returns.Select(m => m.Name))})", nameof(name));
}
