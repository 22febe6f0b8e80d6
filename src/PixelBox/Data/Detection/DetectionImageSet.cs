using System.Collections;
using PixelBox.Imaging;

namespace PixelBox.Data;

/// <summary>
/// The images of one split as training samples: pixels decoded on first access and cached up to a byte budget
/// (thread-safe), boxes clipped to their image and dropped when nothing of them is left (the dataset's readers
/// reported both as warnings), crowd regions left out unless asked for (as YOLO training does). A decoded image
/// whose size differs from its annotation is an <see cref="InputException"/> naming the file.
/// </summary>
public sealed class DetectionImageSet : IReadOnlyList<DetectionSample>
{
    readonly DetectionImage[] images;
    readonly DetectionSample?[] cache;
    readonly long cacheBudget;
    readonly bool includeCrowd;
    long cachedBytes;

    public DetectionImageSet(DetectionDataset dataset, string split, bool includeCrowd = false, long cacheBytes = MaskFolderDataset.DefaultCacheBytes)
        : this(dataset, dataset.Split(split).Images, includeCrowd, cacheBytes)
    {
    }

    public DetectionImageSet(DetectionDataset dataset, IReadOnlyList<DetectionImage> images, bool includeCrowd = false, long cacheBytes = MaskFolderDataset.DefaultCacheBytes)
    {
        Dataset = dataset;
        this.images = images.ToArray();
        this.includeCrowd = includeCrowd;
        cache = new DetectionSample?[this.images.Length];
        cacheBudget = cacheBytes;
    }

    public DetectionDataset Dataset { get; }
    public IReadOnlyList<DetectionImage> Images => images;
    public int Count => images.Length;

    public DetectionSample this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, images.Length);
            var cached = Volatile.Read(ref cache[index]);
            if (cached != null) return cached;
            var sample = Load(images[index], includeCrowd);
            long bytes = sample.Image.LongLength;
            if (Interlocked.Add(ref cachedBytes, bytes) <= cacheBudget)
            {
                var winner = Interlocked.CompareExchange(ref cache[index], sample, null);
                if (winner == null) return sample;
                Interlocked.Add(ref cachedBytes, -bytes);
                return winner;
            }
            Interlocked.Add(ref cachedBytes, -bytes);
            return sample;
        }
    }

    /// <summary>Decodes an image and turns its objects into a sample (clipped boxes, degenerate ones dropped).</summary>
    public static DetectionSample Load(DetectionImage image, bool includeCrowd = false)
    {
        var rgb = RgbImageFile.Read(image.Path);
        if (rgb.Width != image.Width || rgb.Height != image.Height)
            throw new InputException(image.Path, $"image is {rgb.Width}x{rgb.Height} but its annotation says {image.Width}x{image.Height}");
        var boxes = new List<float>(4 * image.Objects.Count);
        var labels = new List<int>(image.Objects.Count);
        var crowd = new List<bool>();
        var difficult = new List<bool>();
        foreach (var o in image.Objects)
        {
            if (o.IsCrowd && !includeCrowd) continue;
            float x0 = Math.Clamp(o.X0, 0, image.Width), x1 = Math.Clamp(o.X1, 0, image.Width);
            float y0 = Math.Clamp(o.Y0, 0, image.Height), y1 = Math.Clamp(o.Y1, 0, image.Height);
            if (!(x1 > x0) || !(y1 > y0)) continue;
            boxes.AddRange([x0, y0, x1, y1]);
            labels.Add(o.Label);
            crowd.Add(o.IsCrowd);
            difficult.Add(o.Difficult);
        }
        return new DetectionSample(image.FileName, image.Width, image.Height, rgb.Pixels, boxes.ToArray(), labels.ToArray())
        {
            IsCrowd = includeCrowd ? crowd.ToArray() : null,
            Difficult = difficult.Contains(true) ? difficult.ToArray() : null,
        };
    }

    public IEnumerator<DetectionSample> GetEnumerator()
    {
        for (int i = 0; i < images.Length; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
