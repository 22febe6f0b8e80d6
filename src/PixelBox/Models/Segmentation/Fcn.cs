using PixelBox.Models.Backbones;
using PixelBox.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Models.Segmentation;

/// <summary>Output stride of the coarsest prediction that is upsampled to the input size.</summary>
public enum FcnVariant
{
    Fcn32s,
    Fcn16s,
    Fcn8s,
}

/// <summary>
/// Fully convolutional network on VGG16 (Long, Shelhamer &amp; Darrell, CVPR 2015), laid out like the
/// paper's Caffe models voc-fcn32s / voc-fcn16s / voc-fcn8s: conv1_1 padded by 100, ceil-mode pools,
/// fc6/fc7 as 7x7 and 1x1 convolutions, 1x1 score layers, learned bias-free transposed convolutions
/// (kernel = 2 x stride) initialised to bilinear upsampling, skip scores from pool4/pool3 cropped to
/// align, and a final crop to exactly the input size (any size).
/// </summary>
/// <remarks>
/// Parameter names: the backbone is torchvision's vgg16 <c>features</c> under <c>backbone.</c>
/// (see <see cref="VggImport"/>); the head uses the Caffe layer names (fc6, fc7, score_fr,
/// score_pool4, score_pool3, upscore, upscore2, upscore16, upscore_pool4, upscore8), as the
/// reference ref_models.FCNVGG16 does. Score layers start at zero as in the paper.
/// </remarks>
public sealed class Fcn : SegmentationModel, IOnnxExportable
{
    // Crop offsets of the Caffe models, which put every map on the input's pixel grid. Image coordinate
    // of pixel y: after pool n, 2^n y + (2^n - 1)/2 - 99 (conv1_1's padding of 100); after fc6,
    // 32 y + 12.5; a transposed conv (kernel k, stride s) puts input pixel y at output (s y + (k - 1)/2).
    // Equating the chains gives 5 (score_pool4), 9 (score_pool3) and final crops of 19 / 27 / 31.
    const int Pool4Offset = 5;
    const int Pool3Offset = 9;

    readonly Vgg16Features backbone;
    readonly Conv2d fc6;
    readonly Conv2d fc7;
    readonly Dropout drop6;
    readonly Dropout drop7;
    readonly Conv2d score_fr;
    readonly Conv2d? score_pool4;
    readonly Conv2d? score_pool3;
    readonly ConvTranspose2d? upscore;
    readonly ConvTranspose2d? upscore2;
    readonly ConvTranspose2d? upscore16;
    readonly ConvTranspose2d? upscore_pool4;
    readonly ConvTranspose2d? upscore8;

    /// <param name="fcChannels">Width of fc6 and fc7 (the paper's 4096; smaller for quick experiments and tests).</param>
    public Fcn(FcnVariant variant, int numClasses = 21, int inChannels = 3, Device? device = null, int fcChannels = 4096)
        : base(variant.ToString(), numClasses, inChannels)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fcChannels, 1);
        Variant = variant;
        string[] features = variant switch
        {
            FcnVariant.Fcn32s => ["pool5"],
            FcnVariant.Fcn16s => ["pool4", "pool5"],
            _ => ["pool3", "pool4", "pool5"],
        };
        backbone = new Vgg16Features(inChannels, firstConvPadding: 100, ceilMode: true, features, device);
        fc6 = nn.Conv2d(512, fcChannels, kernel_size: 7, device: device);
        fc7 = nn.Conv2d(fcChannels, fcChannels, kernel_size: 1, device: device);
        drop6 = nn.Dropout(0.5);
        drop7 = nn.Dropout(0.5);
        long c = numClasses;
        score_fr = nn.Conv2d(fcChannels, c, kernel_size: 1, device: device);
        switch (variant)
        {
            case FcnVariant.Fcn32s:
                upscore = Upsampler(c, 32, device);
                break;
            case FcnVariant.Fcn16s:
                score_pool4 = nn.Conv2d(512, c, kernel_size: 1, device: device);
                upscore2 = Upsampler(c, 2, device);
                upscore16 = Upsampler(c, 16, device);
                break;
            default:
                score_pool4 = nn.Conv2d(512, c, kernel_size: 1, device: device);
                score_pool3 = nn.Conv2d(256, c, kernel_size: 1, device: device);
                upscore2 = Upsampler(c, 2, device);
                upscore_pool4 = Upsampler(c, 2, device);
                upscore8 = Upsampler(c, 8, device);
                break;
        }
        using (no_grad())
        {
            foreach (var score in new[] { score_fr, score_pool4, score_pool3 })
            {
                score?.weight!.zero_();
                score?.bias!.zero_();
            }
        }
        RegisterComponents();
    }

    public static Fcn Fcn32s(int numClasses = 21, int inChannels = 3, Device? device = null) => new(FcnVariant.Fcn32s, numClasses, inChannels, device);

    public static Fcn Fcn16s(int numClasses = 21, int inChannels = 3, Device? device = null) => new(FcnVariant.Fcn16s, numClasses, inChannels, device);

    public static Fcn Fcn8s(int numClasses = 21, int inChannels = 3, Device? device = null) => new(FcnVariant.Fcn8s, numClasses, inChannels, device);

    public FcnVariant Variant { get; }

    /// <summary>Any size: the padding of 100 and the final crop give logits exactly the input size.</summary>
    public override int OutputSize(int inputSize) =>
        inputSize >= 1 ? inputSize : throw new ArgumentException($"input size must be positive, got {inputSize}", nameof(inputSize));

    public override Tensor forward(Tensor input)
    {
        var (height, width) = (input.shape[^2], input.shape[^1]);
        using var scope = NewDisposeScope();
        var maps = backbone.call(input);
        var h = drop6.call(nn.functional.relu(fc6.call(maps["pool5"]), inplace: true));
        h = drop7.call(nn.functional.relu(fc7.call(h), inplace: true));
        h = score_fr.call(h);
        Tensor output;
        switch (Variant)
        {
            case FcnVariant.Fcn32s:
                output = Crop(upscore!.call(h), 19, height, width);
                break;
            case FcnVariant.Fcn16s:
                h = AddSkip(upscore2!.call(h), score_pool4!.call(maps["pool4"]), Pool4Offset);
                output = Crop(upscore16!.call(h), 27, height, width);
                break;
            default:
                h = AddSkip(upscore2!.call(h), score_pool4!.call(maps["pool4"]), Pool4Offset);
                h = AddSkip(upscore_pool4!.call(h), score_pool3!.call(maps["pool3"]), Pool3Offset);
                output = Crop(upscore8!.call(h), 31, height, width);
                break;
        }
        return output.contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>The forward as an ONNX graph: the crops take their sizes from the input, so any size works.</summary>
    public OnnxValue ExportOnnx(OnnxGraph graph, OnnxValue input)
    {
        var maps = backbone.ExportOnnx(graph, input);
        var h = graph.Apply(drop6, graph.Relu(graph.Apply(fc6, maps["pool5"]), "relu6"));
        h = graph.Apply(drop7, graph.Relu(graph.Apply(fc7, h), "relu7"));
        h = graph.Apply(score_fr, h);
        OnnxValue AddSkip(OnnxValue upsampled, Conv2d score, string map, int offset, string name) =>
            graph.Add(upsampled, graph.CropLike(graph.Apply(score, maps[map]), offset, offset, upsampled, name + ".crop"), name);
        switch (Variant)
        {
            case FcnVariant.Fcn32s:
                return graph.CropLike(graph.Apply(upscore!, h), 19, 19, input, "crop");
            case FcnVariant.Fcn16s:
                h = AddSkip(graph.Apply(upscore2!, h), score_pool4!, "pool4", Pool4Offset, "fuse_pool4");
                return graph.CropLike(graph.Apply(upscore16!, h), 27, 27, input, "crop");
            default:
                h = AddSkip(graph.Apply(upscore2!, h), score_pool4!, "pool4", Pool4Offset, "fuse_pool4");
                h = AddSkip(graph.Apply(upscore_pool4!, h), score_pool3!, "pool3", Pool3Offset, "fuse_pool3");
                return graph.CropLike(graph.Apply(upscore8!, h), 31, 31, input, "crop");
        }
    }

    static ConvTranspose2d Upsampler(long classes, int factor, Device? device)
    {
        var layer = nn.ConvTranspose2d(classes, classes, kernel_size: 2 * factor, stride: factor, bias: false, device: device);
        BilinearInit.Apply(layer);
        return layer;
    }

    static Tensor AddSkip(Tensor upsampled, Tensor skipScore, int offset) =>
        upsampled.add_(Crop(skipScore, offset, upsampled.shape[^2], upsampled.shape[^1]));

    static Tensor Crop(Tensor t, int offset, long height, long width) =>
        t.narrow(-2, offset, height).narrow(-1, offset, width);
}
