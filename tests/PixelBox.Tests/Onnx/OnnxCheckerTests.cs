using PixelBox.Models;
using PixelBox.Onnx;
using PixelBox.Tests.Models;
using Xunit.Abstractions;

namespace PixelBox.Tests.Onnx;

/// <summary>Every registered model's export, static and dynamic, passes ONNX's own checker with full shape inference.</summary>
public class OnnxCheckerTests(ITestOutputHelper output)
{
    [OnnxCheckerFact]
    public void Every_segmentation_export_passes_the_onnx_checker()
    {
        var dir = PixelBox.Tests.Training.TinyTask.TempDir();
        var paths = new List<string>();
        foreach (var name in ModelRegistry.NamesOf(ModelTasks.Segmentation))
        {
            using var model = OnnxParityTests.Build(name);
            ReferenceWeights.Fill(model);
            int side = name == "unet" ? 44 : 32;
            foreach (var (opset, dynamic) in new[] { (OnnxExport.DefaultOpset, true), (OnnxExport.MinOpset, false) })
            {
                var options = new OnnxExportOptions { Opset = opset, DynamicSize = dynamic, Height = side, Width = side };
                var path = Path.Combine(dir, $"{name}-opset{opset}{(dynamic ? "-dynamic" : "")}.onnx");
                OnnxExport.Write(OnnxExport.Build(model, name, model.InChannels, ["logits"], options), path);
                paths.Add(path);
            }
        }
        var results = OnnxChecker.Check([.. paths]);
        for (int i = 0; i < paths.Count; i++)
            output.WriteLine($"{Path.GetFileName(paths[i])}: {results[i] ?? "passes"}");
        Assert.All(results, r => Assert.Null(r));
    }

    [Fact]
    public void Every_registered_model_describes_its_own_graph()
    {
        foreach (var entry in ModelRegistry.All)
        {
            using var model = entry.Create(entry.DefaultNumClasses, entry.DefaultInChannels, TorchSharp.torch.META);
            Assert.True(model is IOnnxExportable or IOnnxExportableMulti, $"{entry.Name} has no ONNX export (implement IOnnxExportable next to its forward)");
        }
    }
}
