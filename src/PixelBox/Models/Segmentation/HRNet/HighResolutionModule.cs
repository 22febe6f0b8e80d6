using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>A module list whose entries may be absent, numbered by position like a PyTorch ModuleList
/// holding None (HRNet's transitions and fuse layers): present entries are children "i".</summary>
public sealed class SparseModuleList : nn.Module
{
    readonly nn.Module<Tensor, Tensor>?[] items;

    public SparseModuleList(IReadOnlyList<nn.Module<Tensor, Tensor>?> items) : base(nameof(SparseModuleList))
    {
        this.items = [.. items];
        ModuleChain.RegisterIndexed(this, this.items);
    }

    public int Count => items.Length;

    public nn.Module<Tensor, Tensor>? this[int index] => items[index];
}

/// <summary>
/// One HRNet module (Wang et al., TPAMI 2020; the official HRNet-Semantic-Segmentation
/// <c>HighResolutionModule</c>): parallel <c>branches</c> of BasicBlocks, one per resolution, then
/// <c>fuse_layers</c>: every output resolution i sums all inputs j, brought to its resolution by a 1x1
/// convolution + BatchNorm and bilinear upsampling (j &gt; i) or by i - j strided 3x3 convolutions with
/// BatchNorm (ReLU between them) (j &lt; i); ReLU after the sum.
/// </summary>
public sealed class HighResolutionModule : nn.Module<List<Tensor>, List<Tensor>>, IOnnxExportableMulti
{
    readonly ModuleList<Sequential> branches;
    readonly ModuleList<SparseModuleList> fuse_layers;
    readonly ReLU relu;
    readonly bool alignCorners;

    /// <param name="inChannels">Channels arriving at each branch.</param>
    /// <param name="blocks">BasicBlocks per branch.</param>
    /// <param name="channels">Channels of each branch.</param>
    public HighResolutionModule(IReadOnlyList<int> inChannels, IReadOnlyList<int> blocks, IReadOnlyList<int> channels, bool alignCorners, Device? device = null)
        : base(nameof(HighResolutionModule))
    {
        if (inChannels.Count != blocks.Count || blocks.Count != channels.Count || blocks.Count < 2)
            throw new ArgumentException("every branch needs its input channels, block count and width (at least two branches)");
        this.alignCorners = alignCorners;
        var count = blocks.Count;
        branches = new ModuleList<Sequential>();
        for (var b = 0; b < count; b++)
        {
            var branch = nn.Sequential();
            Sequential? downsample = inChannels[b] == channels[b] ? null : nn.Sequential(
                nn.Conv2d(inChannels[b], channels[b], kernel_size: 1, bias: false, device: device),
                nn.BatchNorm2d(channels[b], device: device));
            branch.append(new BasicBlock(inChannels[b], channels[b], 1, downsample, device));
            for (var k = 1; k < blocks[b]; k++)
                branch.append(new BasicBlock(channels[b], channels[b], device: device));
            branches.append(branch);
        }
        fuse_layers = new ModuleList<SparseModuleList>();
        for (var i = 0; i < count; i++)
        {
            var row = new nn.Module<Tensor, Tensor>?[count];
            for (var j = 0; j < count; j++)
            {
                if (j > i)
                    row[j] = nn.Sequential(
                        nn.Conv2d(channels[j], channels[i], kernel_size: 1, bias: false, device: device),
                        nn.BatchNorm2d(channels[i], device: device));
                else if (j < i)
                {
                    var steps = nn.Sequential();
                    for (var k = 0; k < i - j; k++)
                    {
                        var last = k == i - j - 1;
                        var step = nn.Sequential(
                            nn.Conv2d(channels[j], last ? channels[i] : channels[j], kernel_size: 3, stride: 2, padding: 1, bias: false, device: device),
                            nn.BatchNorm2d(last ? channels[i] : channels[j], device: device));
                        if (!last)
                            step.append(nn.ReLU(inplace: true));
                        steps.append(step);
                    }
                    row[j] = steps;
                }
            }
            fuse_layers.append(new SparseModuleList(row));
        }
        relu = nn.ReLU(inplace: true);
        RegisterComponents();
    }

    public OnnxValue[] ExportOnnx(OnnxGraph graph, OnnxValue[] inputs)
    {
        var path = graph.PathOf(this);
        var x = branches.Select((branch, b) => graph.Apply(branch, inputs[b])).ToArray();
        var fused = new OnnxValue[fuse_layers.Count];
        for (var i = 0; i < fuse_layers.Count; i++)
        {
            OnnxValue? y = null;
            for (var j = 0; j < x.Length; j++)
            {
                var term = j == i ? x[j] : graph.Apply(fuse_layers[i][j]!, x[j]);
                if (j > i)
                    term = graph.ResizeLike(term, x[i], bilinear: true, $"{path}.fuse{i}.resize{j}", alignCorners);
                y = y is null ? term : graph.Add(y, term, $"{path}.fuse{i}.add{j}");
            }
            fused[i] = graph.Relu(y!, $"{path}.fuse{i}.relu");
        }
        return fused;
    }

    public override List<Tensor> forward(List<Tensor> inputs)
    {
        using var scope = NewDisposeScope();
        var x = new List<Tensor>();
        for (var b = 0; b < branches.Count; b++)
            x.Add(ModuleChain.Run(branches[b].children().Cast<nn.Module<Tensor, Tensor>>(), inputs[b]));
        var fused = new List<Tensor>();
        for (var i = 0; i < fuse_layers.Count; i++)
        {
            var row = fuse_layers[i];
            // the official order: y = x0', then + x1', + x2', ... (one sum at a time)
            Tensor? y = null;
            for (var j = 0; j < x.Count; j++)
            {
                var term = j == i ? x[j] : row[j]!.call(x[j]);
                if (j > i)
                    term = ModuleChain.Resize(term, x[i].shape[^2], x[i].shape[^1], alignCorners);
                y = y is null ? term : ReferenceEquals(y, x[0]) ? y.add(term) : y.add_(term);
            }
            fused.Add(relu.call(ReferenceEquals(y, x[0]) ? y!.clone() : y!));
        }
        foreach (var t in fused)
            t.MoveToOuterDisposeScope();
        return fused;
    }
}
