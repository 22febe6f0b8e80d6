using PixelBox.Boxes;
using PixelBox.Models.Detection.OverFeat;
using PixelBox.Models.Detection.Ssd;
using PixelBox.Models.Detection.Yolo;
using PixelBox.Models.Detection.YoloV1;

namespace PixelBox.Models;

/// <summary>
/// The decoder of each registered detector, built without the model (and without libtorch): what a predictor
/// running an exported model in ONNX Runtime decodes its raw outputs with. Each is the decoder the model itself
/// builds (<see cref="DetectionModel.Decoder"/>) for the same name and classes.
/// </summary>
public static class DetectionDecoders
{
    public static IDetectionDecoder For(string modelName, int numClasses) => modelName switch
    {
        "yolo" or "yolo-n" or "yolo-s" or "yolo-m" or "yolo-l" or "yolo-x" => new YoloDecoder(numClasses, YoloHead.DefaultBins),
        "ssd300-vgg16" => new SsdDecoder(numClasses, DefaultBoxGenerator.Ssd300(), BoxCoder.Ssd()),
        "ssdlite320-mobilenet-v3-large" => new SsdDecoder(numClasses, DefaultBoxGenerator.SsdLite320(), BoxCoder.Ssd()),
        "yolov1" => new YoloV1Decoder(numClasses, YoloV1Layout.Cpu.Grid, YoloV1Layout.Cpu.BoxesPerCell),
        "yolov1-paper" => new YoloV1Decoder(numClasses, YoloV1Layout.Paper.Grid, YoloV1Layout.Paper.BoxesPerCell),
        "overfeat" => new OverFeatDecoder(numClasses, OverFeatLayout.Cpu),
        "overfeat-fast" => new OverFeatDecoder(numClasses, OverFeatLayout.Fast),
        _ => throw new InputException($"model '{modelName}' is not a registered detector"),
    };
}
