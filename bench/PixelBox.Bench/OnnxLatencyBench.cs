using System.Diagnostics;
using PixelBox.Onnx;

namespace PixelBox.Bench;

/// <summary>
/// `-- onnx A.onnx B.onnx ... [--threads N] [--repeats R]`: ONNX Runtime latency of exported models (float or
/// quantized) at batch 1 on their static input size, median of R runs after warm-up; the network only, no pre- or
/// post-processing.
/// </summary>
public static class OnnxLatencyBench
{
    public static int Run(string[] args)
    {
        int threads = 2, repeats = 50;
        var models = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--threads")
                threads = int.Parse(args[++i]);
            else if (args[i] == "--repeats")
                repeats = int.Parse(args[++i]);
            else
                models.Add(args[i]);
        }
        foreach (var path in models)
        {
            using var session = OnnxRuntimeSession.Open(path, threads);
            var description = OnnxModelDescription.FromMetadata(session.Metadata, path);
            if (description.DynamicSize)
                throw new InputException(path, "a dynamic-size export; time a static one");
            long[] shape = [1, 3, description.Height, description.Width];
            var random = new Random(1);
            var input = new float[3 * description.Height * description.Width];
            for (int i = 0; i < input.Length; i++)
                input[i] = (float)(random.NextDouble() * 4 - 2);
            for (int i = 0; i < 10; i++)
                session.Run(input, shape);
            var times = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                var watch = Stopwatch.StartNew();
                session.Run(input, shape);
                times[i] = watch.Elapsed.TotalMilliseconds;
            }
            Array.Sort(times);
            Console.WriteLine($"{Path.GetFileName(path)}: {description.Height}x{description.Width}, {threads} threads, median {times[repeats / 2]:F3} ms " +
                              $"(min {times[0]:F3}, max {times[^1]:F3}) over {repeats} runs");
        }
        return 0;
    }
}
