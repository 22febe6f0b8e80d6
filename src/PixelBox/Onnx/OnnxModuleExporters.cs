using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Onnx;

/// <summary>
/// ONNX exports of TorchSharp's own module types (our modules export themselves through
/// <see cref="IOnnxExportable"/>). A Sequential is written child by child, with each Conv2d that is directly
/// followed by a BatchNorm2d folded into one Conv.
/// </summary>
public static class OnnxModuleExporters
{
    public static OnnxValue Export(OnnxGraph graph, nn.Module module, OnnxValue x)
    {
        var name = graph.PathOf(module);
        return module switch
        {
            Sequential sequential => Sequence(graph, sequential, x),
            Conv2d conv => graph.Conv(x, conv),
            ConvTranspose2d conv => graph.ConvTranspose(x, conv),
            BatchNorm2d bn => graph.BatchNorm(x, bn),
            ReLU => graph.Relu(x, name),
            ReLU6 => graph.Clip(x, 0, 6, name),
            SiLU => graph.Silu(x, name),
            Sigmoid => graph.Sigmoid(x, name),
            Hardswish => graph.HardSwish(x, name),
            Hardsigmoid => graph.HardSigmoid(x, name),
            LeakyReLU leaky => graph.LeakyRelu(x, leaky.negative_slope, name),
            // Inference graphs: dropout is the identity in eval mode.
            Dropout or Dropout2d or Identity => x,
            MaxPool2d pool => graph.MaxPool(x, pool.kernel_size, pool.stride ?? pool.kernel_size, pool.padding ?? [0, 0], pool.dilation ?? [1, 1], pool.ceil_mode, name),
            AvgPool2d pool when pool.divisor_override is null =>
                graph.AveragePool(x, pool.kernel_size, pool.stride ?? pool.kernel_size, pool.padding ?? [0, 0], pool.ceil_mode, pool.count_include_pad, name),
            AdaptiveAvgPool2d pool => graph.AdaptiveAveragePool(x, pool.output_size[0], pool.output_size.Length > 1 ? pool.output_size[1] : pool.output_size[0], name),
            Upsample upsample => Upsampling(graph, upsample, x, name),
            Flatten flatten when flatten.start_dim == 1 && flatten.end_dim == -1 && x.Rank == 4 => graph.Flatten(x, name),
            Linear linear when x.Rank == 2 => graph.Linear(x, linear),
            _ => throw new NotSupportedException(
                $"no ONNX export for module '{name}' of type {module.GetType().Name}: give it one (implement IOnnxExportable) or add its type here"),
        };
    }

    static OnnxValue Sequence(OnnxGraph graph, Sequential sequential, OnnxValue x)
    {
        var children = sequential.children().ToList();
        for (int i = 0; i < children.Count; i++)
        {
            if (children[i] is Conv2d conv && i + 1 < children.Count && children[i + 1] is BatchNorm2d bn)
            {
                x = graph.Conv(x, conv, bn);
                i++;
            }
            else
                x = graph.Apply(children[i], x);
        }
        return x;
    }

    static OnnxValue Upsampling(OnnxGraph graph, Upsample upsample, OnnxValue x, string name)
    {
        bool bilinear = upsample.mode switch
        {
            UpsampleMode.Nearest => false,
            UpsampleMode.Bilinear when upsample.align_corners != true => true,
            _ => throw new NotSupportedException($"ONNX export of '{name}': upsampling mode {upsample.mode} (align_corners {upsample.align_corners})"),
        };
        var scale = upsample.scale_factor;
        if (scale.Length == 0)
            throw new NotSupportedException($"ONNX export of '{name}': upsampling to a fixed size");
        return graph.ResizeScale(x, scale[0], scale.Length > 1 ? scale[1] : scale[0], bilinear, name);
    }
}
