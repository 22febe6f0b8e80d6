using PixelBox.Training;

namespace PixelBox.Tests.Training;

public class LearningRateScheduleTests
{
    // Expected values computed by hand (Python float arithmetic), not by the code under test.
    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(50, 0.005358867312681466)]   // 0.01 * 0.5^0.9
    [InlineData(99, 0.00015848931924611134)] // 0.01 * 0.01^0.9
    [InlineData(100, 0.0)]
    [InlineData(250, 0.0)]                   // past the end stays at the floor
    public void Poly_matches_hand_values(long iteration, double expected)
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Poly, 0.01, 100, PolyPower: 0.9);
        Assert.Equal(expected, schedule.At(iteration), 1e-15);
    }

    [Fact]
    public void Poly_decays_towards_the_floor()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Poly, 0.01, 100, PolyPower: 0.9, MinRate: 1e-4);
        Assert.Equal(0.005405278639554652, schedule.At(50), 1e-15); // 1e-4 + 0.0099 * 0.5^0.9
        Assert.Equal(1e-4, schedule.At(100), 1e-15);
    }

    [Theory]
    [InlineData(0, 1.0)]
    [InlineData(25, 0.8535533905932737)] // (1 + cos(pi/4)) / 2
    [InlineData(50, 0.5)]
    [InlineData(75, 0.14644660940672627)] // (1 + cos(3pi/4)) / 2
    [InlineData(100, 0.0)]
    public void Cosine_matches_hand_values(long iteration, double expected)
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Cosine, 1.0, 100);
        Assert.Equal(expected, schedule.At(iteration), 1e-15);
    }

    [Fact]
    public void Cosine_ends_at_the_floor()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Cosine, 1.0, 100, MinRate: 0.1);
        Assert.Equal(0.55, schedule.At(50), 1e-15);
        Assert.Equal(0.1, schedule.At(100), 1e-15);
    }

    [Fact]
    public void Warmup_scales_the_first_iterations_linearly()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Poly, 0.01, 100, PolyPower: 0.9, WarmupIterations: 10);
        Assert.Equal(0.01 * 0.1, schedule.At(0), 1e-15);
        // iteration 5: poly value 0.01 * 0.95^0.9 times 6/10
        Assert.Equal(0.01 * Math.Pow(0.95, 0.9) * 0.6, schedule.At(5), 1e-15);
        Assert.Equal(0.01 * Math.Pow(0.91, 0.9), schedule.At(9), 1e-15);
        Assert.Equal(0.01 * Math.Pow(0.90, 0.9), schedule.At(10), 1e-15);
    }

    [Fact]
    public void Constant_is_constant()
    {
        var schedule = new LearningRateSchedule(ScheduleKind.Constant, 0.3, 10);
        Assert.All(Enumerable.Range(0, 12), i => Assert.Equal(0.3, schedule.At(i)));
    }
}
