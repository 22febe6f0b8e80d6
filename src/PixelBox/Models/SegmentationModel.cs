using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Models;

/// <summary>
/// The one contract every segmentation model meets: images [N, InChannels, H, W] in, per-pixel class
/// logits [N, NumClasses, H', W'] out, with H' = OutputSize(H) (W likewise). Trainers, predictors and
/// evaluators depend on this only, never on a concrete architecture.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>
{
    protected SegmentationModel(string name, int numClasses, int inChannels) : base(name)
    {
        if (numClasses < 1) throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "at least one class");
        if (inChannels < 1) throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, "at least one input channel");
        NumClasses = numClasses;
        InChannels = inChannels;
    }

    public int NumClasses { get; }

    public int InChannels { get; }

    /// <summary>Spatial output size for an input side of <paramref name="inputSize"/> pixels;
    /// throws ArgumentException when the model cannot take that size.</summary>
    public abstract int OutputSize(int inputSize);

    /// <summary>Every model registers its layers here at the end of its constructor; this is also where
    /// the convolutions oneDNN's AVX-512 kernels get wrong are routed around the defect (see
    /// <see cref="ChannelTailConvolutions"/>), and strided 1x1 convolutions around a oneDNN crash
    /// (<see cref="StridedPointwiseConvolutions"/>); widely dilated ones run channels-last for speed
    /// (<see cref="WideDilationConvolutions"/>), so no model, caller or command can forget it.</summary>
    protected override void RegisterComponents()
    {
        base.RegisterComponents();
        ChannelTailConvolutions.Guard(this);
        StridedPointwiseConvolutions.Guard(this);
        WideDilationConvolutions.Guard(this);
    }
}
