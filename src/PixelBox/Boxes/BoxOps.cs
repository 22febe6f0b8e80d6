using PixelBox.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Boxes;

/// <summary>How a box's 4 numbers are laid out.</summary>
public enum BoxFormat
{
    /// <summary>(x1, y1, x2, y2): corners; the format every other function here expects.</summary>
    Xyxy,

    /// <summary>(x, y, w, h): top-left corner and size (COCO's bbox).</summary>
    Xywh,

    /// <summary>(cx, cy, w, h): centre and size (YOLO, SSD's default boxes).</summary>
    Cxcywh,
}

/// <summary>
/// Box tensors ([..., 4], xyxy unless a format is named) as torchvision.ops computes them: conversion,
/// area, clipping, small-box removal, and NMS on tensors (<see cref="Nms"/> does the work on spans).
/// </summary>
public static class BoxOps
{
    /// <summary>torchvision.ops.box_convert, in the same operations (cx - 0.5 * w, (x1 + x2) / 2, ...).</summary>
    public static Tensor Convert(Tensor boxes, BoxFormat from, BoxFormat to)
    {
        if (from == to)
            return boxes.clone();
        var xyxy = from switch
        {
            BoxFormat.Xyxy => boxes,
            BoxFormat.Xywh => XywhToXyxy(boxes),
            BoxFormat.Cxcywh => CxcywhToXyxy(boxes),
            _ => throw new ArgumentOutOfRangeException(nameof(from)),
        };
        return to switch
        {
            BoxFormat.Xyxy => xyxy,
            BoxFormat.Xywh => XyxyToXywh(xyxy),
            BoxFormat.Cxcywh => XyxyToCxcywh(xyxy),
            _ => throw new ArgumentOutOfRangeException(nameof(to)),
        };
    }

    static Tensor XywhToXyxy(Tensor b)
    {
        var c = b.unbind(-1);
        return stack([c[0], c[1], c[0] + c[2], c[1] + c[3]], -1);
    }

    static Tensor CxcywhToXyxy(Tensor b)
    {
        var c = b.unbind(-1);
        var hw = c[2] * 0.5;
        var hh = c[3] * 0.5;
        return stack([c[0] - hw, c[1] - hh, c[0] + hw, c[1] + hh], -1);
    }

    static Tensor XyxyToXywh(Tensor b)
    {
        var c = b.unbind(-1);
        return stack([c[0], c[1], c[2] - c[0], c[3] - c[1]], -1);
    }

    static Tensor XyxyToCxcywh(Tensor b)
    {
        var c = b.unbind(-1);
        return stack([(c[0] + c[2]) / 2, (c[1] + c[3]) / 2, c[2] - c[0], c[3] - c[1]], -1);
    }

    /// <summary>torchvision.ops.box_area: (x2 - x1) * (y2 - y1), half precision upcast to float32.</summary>
    public static Tensor Area(Tensor boxes)
    {
        var b = Upcast(boxes);
        return (b.select(-1, 2) - b.select(-1, 0)) * (b.select(-1, 3) - b.select(-1, 1));
    }

    /// <summary>torchvision.ops.clip_boxes_to_image: x into [0, width], y into [0, height].</summary>
    public static Tensor Clip(Tensor boxes, long height, long width)
    {
        var c = boxes.unbind(-1);
        return stack([c[0].clamp(0, width), c[1].clamp(0, height), c[2].clamp(0, width), c[3].clamp(0, height)], -1);
    }

    /// <summary>torchvision.ops.remove_small_boxes: indices of boxes whose width and height are both &gt;= minSize.</summary>
    public static Tensor RemoveSmall(Tensor boxes, double minSize)
    {
        var ws = boxes.select(-1, 2) - boxes.select(-1, 0);
        var hs = boxes.select(-1, 3) - boxes.select(-1, 1);
        return nonzero((ws >= minSize) & (hs >= minSize)).select(1, 0);
    }

    /// <summary>torchvision.ops.nms on tensors ([N, 4] float32/float64 boxes, [N] scores): int64 kept indices.</summary>
    public static Tensor Nms(Tensor boxes, Tensor scores, double iouThreshold)
    {
        CheckNmsInputs(boxes, scores);
        int[] keep = boxes.dtype == ScalarType.Float64
            ? Boxes.Nms.Keep(Doubles(boxes), Doubles(scores), iouThreshold)
            : Boxes.Nms.Keep(Floats(boxes), Floats(scores), iouThreshold);
        return Indices(keep);
    }

    /// <summary>torchvision.ops.batched_nms on tensors (<paramref name="classes"/>: [N] integers).</summary>
    public static Tensor BatchedNms(Tensor boxes, Tensor scores, Tensor classes, double iouThreshold)
    {
        CheckNmsInputs(boxes, scores);
        var ids = TensorValues.ToArray<long>(classes.to_type(ScalarType.Int64));
        int[] keep = boxes.dtype == ScalarType.Float64
            ? Boxes.Nms.KeepBatched(Doubles(boxes), Doubles(scores), ids, iouThreshold)
            : Boxes.Nms.KeepBatched(Floats(boxes), Floats(scores), ids, iouThreshold);
        return Indices(keep);
    }

    static void CheckNmsInputs(Tensor boxes, Tensor scores)
    {
        if (boxes.dim() != 2 || boxes.shape[1] != 4)
            throw new ArgumentException($"boxes must be [N, 4], not [{string.Join(", ", boxes.shape)}]");
        if (scores.dim() != 1 || scores.shape[0] != boxes.shape[0])
            throw new ArgumentException($"scores must be [{boxes.shape[0]}], not [{string.Join(", ", scores.shape)}]");
        if (boxes.dtype != scores.dtype)
            throw new ArgumentException($"boxes ({boxes.dtype}) and scores ({scores.dtype}) must have the same type, as torchvision requires");
    }

    static float[] Floats(Tensor t) => TensorValues.ToArray<float>(t.detach().to_type(ScalarType.Float32));

    static double[] Doubles(Tensor t) => TensorValues.ToArray<double>(t.detach());

    static Tensor Indices(int[] keep)
    {
        var longs = new long[keep.Length];
        for (int i = 0; i < keep.Length; i++)
            longs[i] = keep[i];
        return tensor(longs, ScalarType.Int64);
    }

    /// <summary>torchvision's _upcast: half precision to float32, small integers to int32.</summary>
    internal static Tensor Upcast(Tensor t)
    {
        if (t.is_floating_point())
            return t.dtype is ScalarType.Float32 or ScalarType.Float64 ? t : t.to_type(ScalarType.Float32);
        return t.dtype is ScalarType.Int32 or ScalarType.Int64 ? t : t.to_type(ScalarType.Int32);
    }

    /// <summary>torchvision's _upcast_non_float: anything but float32/float64 to float32.</summary>
    internal static Tensor UpcastNonFloat(Tensor t) =>
        t.dtype is ScalarType.Float32 or ScalarType.Float64 ? t : t.to_type(ScalarType.Float32);
}
