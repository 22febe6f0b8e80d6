using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Losses;

/// <summary>Settings shared by the losses <see cref="SegmentationLoss.Create"/> builds.</summary>
/// <param name="ClassWeights">per-class weights a_c for "ce" and alpha for "focal"; null means all 1.</param>
/// <param name="IgnoreIndex">target label left out of every loss.</param>
/// <param name="FocalGamma">gamma of "focal".</param>
public sealed record SegmentationLossOptions(double[]? ClassWeights = null, long IgnoreIndex = 255, double FocalGamma = 2.0);

/// <summary>Picks a segmentation loss by name, for trainers and the command line. All reduce to a scalar mean.</summary>
public static class SegmentationLoss
{
    /// <summary>"ce" weighted cross-entropy, "focal" focal loss, "dice" soft Dice, "lovasz" Lovasz-softmax,
    /// "ce+dice" their sum (cross-entropy plus soft Dice, each with weight 1).</summary>
    public static IReadOnlyList<string> Names { get; } = ["ce", "focal", "dice", "lovasz", "ce+dice"];

    /// <summary>The loss called <paramref name="name"/> (one of <see cref="Names"/>, case-insensitive);
    /// ArgumentException for any other name.</summary>
    public static nn.Module<Tensor, Tensor, Tensor> Create(string name, SegmentationLossOptions? options = null)
    {
        options ??= new SegmentationLossOptions();
        return name.Trim().ToLowerInvariant() switch
        {
            "ce" => new WeightedCrossEntropyLoss(options.ClassWeights, options.IgnoreIndex),
            "focal" => new FocalLoss(options.FocalGamma, options.ClassWeights, options.IgnoreIndex),
            "dice" => new SoftDiceLoss(ignoreIndex: options.IgnoreIndex),
            "lovasz" => new LovaszSoftmaxLoss(ignoreIndex: options.IgnoreIndex),
            "ce+dice" => new SumOfLosses(
                new WeightedCrossEntropyLoss(options.ClassWeights, options.IgnoreIndex),
                new SoftDiceLoss(ignoreIndex: options.IgnoreIndex)),
            _ => throw new ArgumentException(
                $"unknown loss '{name}'; expected one of {string.Join(", ", Names)}", nameof(name)),
        };
    }

    sealed class SumOfLosses : nn.Module<Tensor, Tensor, Tensor>
    {
        readonly nn.Module<Tensor, Tensor, Tensor> first;
        readonly nn.Module<Tensor, Tensor, Tensor> second;

        public SumOfLosses(nn.Module<Tensor, Tensor, Tensor> first, nn.Module<Tensor, Tensor, Tensor> second)
            : base(nameof(SumOfLosses))
        {
            this.first = first;
            this.second = second;
            RegisterComponents();
        }

        public override Tensor forward(Tensor logits, Tensor target)
        {
            using var a = first.call(logits, target);
            using var b = second.call(logits, target);
            return a.add(b);
        }
    }
}
