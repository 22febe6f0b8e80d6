namespace PixelBox.Cli.Shared;

/// <summary>How commands tell an ONNX model from a PixelBox checkpoint: by its extension.</summary>
static class OnnxFiles
{
    public static bool IsOnnx(string path) => path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
}
