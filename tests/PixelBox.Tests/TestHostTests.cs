namespace PixelBox.Tests;

/// <summary>The test host's settings that keep the suite free of TorchSharp's Scalar finalizer race (see test.runsettings).</summary>
public class TestHostTests
{
    [Fact]
    public void The_test_host_runs_with_a_large_gen0_budget() =>
        Assert.Equal("0x10000000", Environment.GetEnvironmentVariable("DOTNET_GCgen0size"));
}
