using TorchSharp;
using static TorchSharp.torch;

namespace PixelBox.Interop;

/// <summary>A tensor's elements as a managed array.</summary>
public static class TensorValues
{
    /// <summary>
    /// The elements of <paramref name="tensor"/> (already of element type <typeparamref name="T"/>) in row-major
    /// order. TorchSharp's <c>data&lt;T&gt;().ToArray()</c> throws on a tensor without elements (an image with no
    /// boxes, NMS of nothing): that gives an empty array here.
    /// </summary>
    public static T[] ToArray<T>(Tensor tensor) where T : unmanaged
    {
        if (tensor.numel() == 0)
            return [];
        using var dense = tensor.cpu().contiguous();
        return dense.data<T>().ToArray();
    }
}
