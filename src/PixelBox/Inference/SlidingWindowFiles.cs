using System.Buffers.Binary;
using System.Runtime.InteropServices;
using PixelBox.Imaging;
using PixelBox.Interop;
using PixelBox.Masks;
using PixelBox.Visualization;

namespace PixelBox.Inference;

/// <summary>
/// <c>predict seg</c>'s files for one image predicted by a <see cref="SlidingWindowPredictor"/>: the mask and overlay
/// as <see cref="ISegmentationPredictor.PredictFile"/> writes them, and on request the logits (.npy) and per-class
/// probability maps (&lt;stem&gt;_prob_&lt;class index&gt;.png: 8-bit grey, softmax probability x 255, rounded). The
/// logits and probabilities are written as rows are finished and the overlay row by row, so that beside the image
/// and its mask (4 bytes a pixel) memory stays what the sliding window needs.
/// </summary>
public static class SlidingWindowFiles
{
    /// <summary>The probability map of class <paramref name="classIndex"/>: &lt;stem&gt;_prob_&lt;class&gt;.png.</summary>
    public static string ProbabilityName(string imagePath, int classIndex) =>
        $"{Path.GetFileNameWithoutExtension(imagePath)}_prob_{classIndex}.png";

    public static PredictedImage PredictFile(SlidingWindowPredictor predictor, string imagePath, string outDir, bool saveLogits, bool saveProbs)
    {
        var image = RgbImageFile.Read(imagePath);
        int classes = predictor.Classes;
        var labels = new byte[(long)image.Width * image.Height];
        var streamed = new List<string>();
        string? logitsPath = saveLogits ? Path.Combine(outDir, SegmentationPredictor.LogitsName(imagePath)) : null;
        if (logitsPath is not null)
            streamed.Add(logitsPath);
        if (saveProbs)
            streamed.AddRange(Enumerable.Range(0, classes).Select(k => Path.Combine(outDir, ProbabilityName(imagePath, k))));
        WriteAll(streamed, streams =>
        {
            var logits = logitsPath is null ? null : new LogitsWriter(streams[0], classes, image.Height, image.Width);
            var probs = saveProbs ? new ProbabilityWriter(streams.Skip(logits is null ? 0 : 1).ToArray(), image.Width, image.Height) : null;
            try
            {
                predictor.Predict(image, rows =>
                {
                    ArgMax(rows, labels);
                    logits?.Write(rows);
                    probs?.Write(rows);
                });
            }
            catch (InputException e)
            {
                throw new InputException(imagePath, $"{image.Width}x{image.Height}: {e.Message}");
            }
            probs?.Finish();
        });
        var mask = new IndexMask(image.Width, image.Height, labels);
        var (maskName, overlayName) = SegmentationPredictor.OutputNames(imagePath);
        var maskPath = Path.Combine(outDir, maskName);
        var overlayPath = Path.Combine(outDir, overlayName);
        IndexMaskPng.Write(maskPath, mask, IndexMaskPng.VocPalette);
        AtomicFile.Write(overlayPath, stream => WriteOverlay(stream, image, mask));
        return new PredictedImage(imagePath, maskPath, overlayPath, image.Width, image.Height, logitsPath);
    }

    /// <summary>Opens every path for an atomic write (<see cref="AtomicFile"/>) and runs <paramref name="write"/> on
    /// their streams: all files appear when it returns, none when it throws.</summary>
    static void WriteAll(IReadOnlyList<string> paths, Action<Stream[]> write)
    {
        var streams = new Stream[paths.Count];
        Open(0);

        void Open(int i)
        {
            if (i == paths.Count)
                write(streams);
            else
                AtomicFile.Write(paths[i], stream => { streams[i] = stream; Open(i + 1); });
        }
    }

    /// <summary>The class of the largest logit per pixel of these rows (the first on ties, as torch.argmax).</summary>
    static void ArgMax(LogitRows rows, byte[] labels)
    {
        var best = new float[rows.Width];
        for (int i = 0; i < rows.Rows; i++)
        {
            var target = labels.AsSpan((rows.Top + i) * rows.Width, rows.Width);
            target.Clear();
            rows.Row(0, i).CopyTo(best);
            for (int k = 1; k < rows.Classes; k++)
            {
                var plane = rows.Row(k, i);
                for (int j = 0; j < best.Length; j++)
                {
                    if (plane[j] > best[j])
                    {
                        best[j] = plane[j];
                        target[j] = (byte)k;
                    }
                }
            }
        }
    }

    /// <summary>The picture of <see cref="SegmentationOverlay.ImageAndBlend"/>, encoded one row at a time.</summary>
    static void WriteOverlay(Stream stream, RgbImage image, IndexMask mask)
    {
        int rowBytes = image.Width * 3;
        using var png = new PngRowWriter(stream, 2 * image.Width, image.Height, 3);
        var line = new byte[2 * rowBytes];
        for (int y = 0; y < image.Height; y++)
        {
            var row = new RgbImage(image.Width, 1, image.Pixels.AsSpan(y * rowBytes, rowBytes).ToArray());
            var labels = new IndexMask(image.Width, 1, mask.Pixels.AsSpan(y * image.Width, image.Width).ToArray());
            row.Pixels.CopyTo(line, 0);
            SegmentationOverlay.Blend(row, labels).Pixels.CopyTo(line, rowBytes);
            png.WriteRow(line);
        }
        png.Finish();
    }

    /// <summary>A float32 [classes, H, W] .npy file filled as rows arrive (each class plane at its offset).</summary>
    sealed class LogitsWriter
    {
        readonly Stream stream;
        readonly long dataStart;
        readonly int height;
        readonly byte[] row;

        public LogitsWriter(Stream stream, int classes, int height, int width)
        {
            this.stream = stream;
            this.height = height;
            var header = NpyFile.Header([classes, height, width]);
            stream.Write(header);
            dataStart = header.Length;
            stream.SetLength(dataStart + 4L * classes * height * width);
            row = new byte[4 * width];
        }

        public void Write(LogitRows rows)
        {
            for (int k = 0; k < rows.Classes; k++)
            {
                stream.Position = dataStart + 4L * ((long)k * height + rows.Top) * rows.Width;
                for (int i = 0; i < rows.Rows; i++)
                {
                    var values = rows.Row(k, i);
                    if (BitConverter.IsLittleEndian)
                        MemoryMarshal.AsBytes(values).CopyTo(row);
                    else
                        for (int j = 0; j < values.Length; j++)
                            BinaryPrimitives.WriteSingleLittleEndian(row.AsSpan(4 * j), values[j]);
                    stream.Write(row);
                }
            }
        }
    }

    /// <summary>One grey PNG per class, rows of softmax probabilities x 255.</summary>
    sealed class ProbabilityWriter(Stream[] streams, int width, int height)
    {
        readonly PngRowWriter[] pngs = [.. streams.Select(s => new PngRowWriter(s, width, height, 1))];
        readonly float[] max = new float[width];
        readonly float[] sum = new float[width];
        readonly byte[] row = new byte[width];

        public void Write(LogitRows rows)
        {
            for (int i = 0; i < rows.Rows; i++)
            {
                rows.Row(0, i).CopyTo(max);
                for (int k = 1; k < rows.Classes; k++)
                {
                    var plane = rows.Row(k, i);
                    for (int j = 0; j < width; j++)
                        max[j] = Math.Max(max[j], plane[j]);
                }
                Array.Clear(sum);
                for (int k = 0; k < rows.Classes; k++)
                {
                    var plane = rows.Row(k, i);
                    for (int j = 0; j < width; j++)
                        sum[j] += MathF.Exp(plane[j] - max[j]);
                }
                for (int k = 0; k < rows.Classes; k++)
                {
                    var plane = rows.Row(k, i);
                    for (int j = 0; j < width; j++)
                        row[j] = (byte)MathF.Round(255 * MathF.Exp(plane[j] - max[j]) / sum[j]);
                    pngs[k].WriteRow(row);
                }
            }
        }

        public void Finish()
        {
            foreach (var png in pngs)
            {
                png.Finish();
                png.Dispose();
            }
        }
    }
}
