using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Bench.Models;

/// <summary>
/// The benchmark U-Net (same padding, widths 32..512, ConvTranspose2d up, no BatchNorm) written the way one
/// would in a bare TorchSharp script: flat lists of layers and a forward with functional calls, none of
/// PixelBox's abstractions. The baseline that <c>UNet.Same32</c> is timed against.
/// </summary>
public sealed class BareUNet : nn.Module<Tensor, Tensor>
{
    static readonly int[] Widths = [32, 64, 128, 256, 512];

    readonly ModuleList<Conv2d> encoder = new();
    readonly ModuleList<ConvTranspose2d> upsample = new();
    readonly ModuleList<Conv2d> decoder = new();
    readonly Conv2d classifier;

    public BareUNet(int inChannels = 3, int numClasses = 5) : base(nameof(BareUNet))
    {
        long c = inChannels;
        foreach (var w in Widths)
        {
            encoder.append(nn.Conv2d(c, w, 3, padding: 1));
            encoder.append(nn.Conv2d(w, w, 3, padding: 1));
            c = w;
        }
        for (var i = Widths.Length - 2; i >= 0; i--)
        {
            var w = Widths[i];
            upsample.append(nn.ConvTranspose2d(c, w, 2, stride: 2));
            decoder.append(nn.Conv2d(2 * w, w, 3, padding: 1));
            decoder.append(nn.Conv2d(w, w, 3, padding: 1));
            c = w;
        }
        classifier = nn.Conv2d(c, numClasses, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>();
        for (var level = 0; level < Widths.Length; level++)
        {
            x = encoder[2 * level].call(x).relu_();
            x = encoder[2 * level + 1].call(x).relu_();
            if (level < Widths.Length - 1)
            {
                skips.Add(x);
                x = nn.functional.max_pool2d(x, 2, 2);
            }
        }
        for (var j = 0; j < upsample.Count; j++)
        {
            x = cat([skips[^(j + 1)], upsample[j].call(x)], 1);
            x = decoder[2 * j].call(x).relu_();
            x = decoder[2 * j + 1].call(x).relu_();
        }
        return classifier.call(x).MoveToOuterDisposeScope();
    }
}
