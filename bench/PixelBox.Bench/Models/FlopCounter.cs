using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// Forward FLOPs of a network from the shapes its convolutions see: 2 per multiply-add of every Conv2d and
/// ConvTranspose2d (bias, activations, pools and concatenations are left out; they are well under 1%).
/// A training step is counted as 3x the forward (the backward computes gradients for inputs and weights).
/// </summary>
public static class FlopCounter
{
    public static double ForwardFlops(nn.Module<Tensor, Tensor> model, long[] inputShape)
    {
        double flops = 0;
        var removers = new List<Action>();
        foreach (var (_, module) in model.named_modules())
        {
            switch (module)
            {
                case ConvTranspose2d t:
                    // every input pixel scatters a k x k x out/groups block
                    removers.Add(t.register_forward_hook((_, input, output) =>
                    {
                        flops += 2.0 * input.numel() * (t.out_channels / t.groups) * t.kernel_size[0] * t.kernel_size[1];
                        return output;
                    }).remove);
                    break;
                case Conv2d c:
                    // every output pixel gathers a k x k x in/groups block
                    removers.Add(c.register_forward_hook((_, _, output) =>
                    {
                        flops += 2.0 * output.numel() * (c.in_channels / c.groups) * c.kernel_size[0] * c.kernel_size[1];
                        return output;
                    }).remove);
                    break;
            }
        }
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.call(zeros(inputShape));
        }
        finally
        {
            foreach (var remove in removers)
                remove();
        }
        return flops;
    }
}
