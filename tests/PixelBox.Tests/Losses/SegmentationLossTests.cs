using PixelBox.Losses;
using static PixelBox.Tests.Losses.LossTesting;
using static TorchSharp.torch;

namespace PixelBox.Tests.Losses;

public class SegmentationLossTests
{
    [Theory]
    [InlineData("ce", typeof(WeightedCrossEntropyLoss))]
    [InlineData("focal", typeof(FocalLoss))]
    [InlineData("Dice", typeof(SoftDiceLoss))]
    [InlineData(" lovasz ", typeof(LovaszSoftmaxLoss))]
    public void CreatesTheNamedLoss(string name, Type expected) => Assert.IsType(expected, SegmentationLoss.Create(name));

    [Fact]
    public void OptionsReachTheLosses()
    {
        var options = new SegmentationLossOptions([1, 2], IgnoreIndex: 7, FocalGamma: 0.5);
        var ce = Assert.IsType<WeightedCrossEntropyLoss>(SegmentationLoss.Create("ce", options));
        Assert.Equal([1.0, 2.0], ce.ClassWeights!);
        Assert.Equal(7, ce.IgnoreIndex);
        var focal = Assert.IsType<FocalLoss>(SegmentationLoss.Create("focal", options));
        Assert.Equal(0.5, focal.Gamma);
        Assert.Equal([1.0, 2.0], focal.Alpha!);
        Assert.Equal(7, Assert.IsType<SoftDiceLoss>(SegmentationLoss.Create("dice", options)).IgnoreIndex);
        Assert.Equal(7, Assert.IsType<LovaszSoftmaxLoss>(SegmentationLoss.Create("lovasz", options)).IgnoreIndex);
    }

    [Fact]
    public void CePlusDiceIsTheSumOfBoth()
    {
        using var scope = NewDisposeScope();
        var random = new Random(41);
        var logits = Float64(RandomNormal(random, 2 * 3 * 4), 2, 3, 2, 2);
        var target = Labels(RandomLabels(random, 8, 3, 0.2), 2, 2, 2);
        double expected = Scalar(new WeightedCrossEntropyLoss().call(logits, target)) + Scalar(new SoftDiceLoss().call(logits, target));
        AssertClose(expected, Scalar(SegmentationLoss.Create("ce+dice").call(logits, target)));
    }

    [Fact]
    public void EveryListedNameIsAccepted()
    {
        foreach (var name in SegmentationLoss.Names)
            SegmentationLoss.Create(name);
    }

    [Fact]
    public void UnknownNameIsRejectedWithTheValidOnes()
    {
        var error = Assert.Throws<ArgumentException>(() => SegmentationLoss.Create("hinge"));
        Assert.Contains("ce+dice", error.Message);
    }
}
