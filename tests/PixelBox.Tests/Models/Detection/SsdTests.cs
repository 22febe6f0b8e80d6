using PixelBox.Boxes;
using PixelBox.Models;
using PixelBox.Models.Detection.Ssd;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Tests.Models.Detection;

public class SsdTests
{
    static long Count(nn.Module model)
    {
        using (model)
            return model.parameters().Sum(p => p.numel());
    }

    /// <summary>torchvision's num_params of the COCO checkpoints (num_classes 91 = 90 object classes + background).</summary>
    [Theory]
    [InlineData("ssd300-vgg16", 35_641_826)]
    [InlineData("ssdlite320-mobilenet-v3-large", 3_440_060)]
    public void ParameterCountsAreTorchvisions(string name, long expected) =>
        Assert.Equal(expected, Count(ModelRegistry.Get(name).Create(90, 3, META)));

    /// <summary>Keys and shapes of torchvision 0.14's state dict (Reference/*_91_keys.txt, written by
    /// Reference/make_ssd_fixtures.py --keys). Compared as sets: TorchSharp lists all parameters before all
    /// buffers, PyTorch module by module, and loading goes by name.</summary>
    [Theory]
    [InlineData("ssd300-vgg16", "ssd300_vgg16_91_keys.txt")]
    [InlineData("ssdlite320-mobilenet-v3-large", "ssdlite320_mobilenet_v3_large_91_keys.txt")]
    public void StateDictIsTorchvisions(string name, string keysFile)
    {
        var expected = File.ReadAllLines(Path.Combine(ReferenceWeights.Folder, keysFile))
            .Where(line => !line.StartsWith('#') && line.Length > 0)
            .Select(line => line.Split('\t'))
            .Select(parts => (parts[0], parts[1]))
            .ToList();
        using var model = ModelRegistry.Get(name).Create(90, 3, META);
        var ours = model.state_dict().Select(kv => (kv.Key, string.Join(",", kv.Value.shape))).ToList();
        Assert.Equal(expected.Order(), ours.Order());
    }

    /// <summary>Map sizes by conv arithmetic (the parity tests run the real network): 38, 19, 10, 5, 3, 1 with
    /// 4, 6, 6, 6, 4, 4 boxes per cell, 8,732 in all; 268 is the smallest side that leaves conv11_2 a cell.</summary>
    [Fact]
    public void Ssd300HasTheDefaultBoxesOfThePaper()
    {
        var backbone = new SsdVgg16Backbone(device: META);
        Assert.Equal([38L, 19, 10, 5, 3, 1], backbone.MapSides(300));
        Assert.Equal([34L, 17, 9, 5, 3, 1], backbone.MapSides(SsdVgg16Backbone.MinSide));
        Assert.Throws<ArgumentException>(() => backbone.MapSides(SsdVgg16Backbone.MinSide - 1));
        var perCell = DefaultBoxGenerator.Ssd300().NumAnchorsPerLocation();
        Assert.Equal([4, 6, 6, 6, 4, 4], perCell);
        Assert.Equal(8732, backbone.MapSides(300).Zip(perCell).Sum(p => p.First * p.First * p.Second));
        Assert.Throws<ArgumentException>(() => Ssd.Ssd300Vgg16(3, settings: Ssd.Ssd300Settings() with { InputSize = 320 }, device: META));
    }

    [Fact]
    public void PlainDefaultBoxesEqualTheTensorGenerator()
    {
        foreach (var (generator, height, width, maps) in new (DefaultBoxGenerator, long, long, GridSize[])[]
                 {
                     (DefaultBoxGenerator.Ssd300(), 300, 300, [new(38, 38), new(19, 19), new(10, 10), new(5, 5), new(3, 3), new(1, 1)]),
                     (new DefaultBoxGenerator([[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]], 0.2, 0.95), 320, 352,
                         [new(20, 22), new(10, 11), new(5, 6), new(3, 3), new(2, 2), new(1, 1)]),
                 })
        {
            using var expected = generator.Generate(height, width, maps);
            var values = generator.GenerateValues(height, width, maps);
            Assert.Equal(expected.data<float>().ToArray(), values);
        }
    }
}
