namespace PixelBox.Tests.Training;

/// <summary>
/// Tests that need torch's global random generator to give exactly the same sequence twice (a resumed run
/// must see the dropout masks and initial weights of the uninterrupted one). The generator is process-wide,
/// so any test class creating models in parallel would draw from it in between; xunit runs a collection
/// with parallelisation disabled on its own, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchRandomCollection
{
    public const string Name = "Torch global random generator";
}
