using System.Collections;
using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>One sample as a format lists it: its id, image file and mask file (for COCO the annotation file).</summary>
public sealed record SegmentationEntry(string Id, string ImagePath, string MaskPath);

/// <summary>Where a format's masks come from: PNG files, or annotations rasterised on the fly (COCO).</summary>
public abstract class MaskSource
{
    /// <summary>Mask PNG files, their values as stored (grayscale or palette indices).</summary>
    public static MaskSource Png { get; } = new PngMaskSource();

    /// <summary>Width and height of the entry's mask, without decoding it.</summary>
    public abstract (int Width, int Height) ReadSize(SegmentationEntry entry);

    /// <summary>The entry's mask, values as stored (before the format's <see cref="LabelMapping"/>).</summary>
    public abstract IndexMask Read(SegmentationEntry entry);

    /// <summary>The file and problem of a mask whose size is not its image's.</summary>
    public virtual (string File, string Problem) SizeMismatch(SegmentationEntry entry, (int Width, int Height) mask, (int Width, int Height) image) =>
        (entry.MaskPath, $"mask is {mask.Width}x{mask.Height} but its image {entry.ImagePath} is {image.Width}x{image.Height}");

    /// <summary>The issue kind of a mask that cannot be read: a broken file, or (annotations) a malformed record.</summary>
    public virtual string BrokenKind => IssueKinds.BrokenMask;

    sealed class PngMaskSource : MaskSource
    {
        public override (int Width, int Height) ReadSize(SegmentationEntry entry) => RgbImageFile.ReadSize(entry.MaskPath);

        public override IndexMask Read(SegmentationEntry entry) => IndexMaskPng.Read(entry.MaskPath);
    }
}

/// <summary>
/// What a format reads from a dataset root for one split: the samples in order, where their masks come from,
/// how stored mask values become labels, and the class names (label k = name k).
/// </summary>
/// <param name="CategoryIds">The format's id of each class where it has one (COCO category ids), else null.</param>
public sealed record SegmentationSource(
    string Format, string Root, IReadOnlyList<SegmentationEntry> Entries, MaskSource Masks, LabelMapping Mapping,
    Lazy<IReadOnlyList<string>> ClassNames, IReadOnlyList<long?>? CategoryIds = null);

/// <summary>
/// A segmentation dataset of any format (<see cref="SegmentationFormats"/>): samples are (image, mask) pairs
/// whose mask values go through the format's <see cref="LabelMapping"/> (VOC's palette indices, Cityscapes'
/// labelIds to trainIds, ...) so every sample holds labels 0..classes-1 and 255 = ignore. Opening checks the
/// image/mask sizes from file headers; pixels are decoded on first access and kept in memory up to a byte
/// budget, so later epochs cost no decoding. Thread-safe.
/// </summary>
public sealed class SegmentationDataset : IReadOnlyList<SegmentationSample>
{
    readonly SegmentationSource source;
    readonly IReadOnlyList<SegmentationEntry> entries;
    readonly string[] ids;
    readonly (int Width, int Height)[] sizes;
    readonly SegmentationSample?[] cache;
    readonly long cacheBudget;
    long cachedBytes;

    SegmentationDataset(SegmentationSource source, (int, int)[] sizes, long cacheBytes)
    {
        this.source = source;
        entries = source.Entries;
        ids = entries.Select(e => e.Id).ToArray();
        this.sizes = sizes;
        cache = new SegmentationSample?[entries.Count];
        cacheBudget = cacheBytes;
    }

    /// <summary>
    /// Reads every sample's image and mask size from the file headers; an unreadable header or a size mismatch
    /// throws <see cref="InputException"/> naming the file.
    /// </summary>
    public static SegmentationDataset Open(SegmentationSource source, long cacheBytes = MaskFolderDataset.DefaultCacheBytes)
    {
        var sizes = new (int, int)[source.Entries.Count];
        for (int i = 0; i < sizes.Length; i++)
        {
            var entry = source.Entries[i];
            var image = RgbImageFile.ReadSize(entry.ImagePath);
            var mask = source.Masks.ReadSize(entry);
            if (image != mask)
            {
                var (file, problem) = source.Masks.SizeMismatch(entry, mask, image);
                throw new InputException(file, problem);
            }
            sizes[i] = image;
        }
        return new SegmentationDataset(source, sizes, cacheBytes);
    }

    /// <summary>The format's name (<see cref="SegmentationFormats"/>).</summary>
    public string Format => source.Format;

    public string Root => source.Root;

    /// <summary>Sample ids in dataset order (the split's order).</summary>
    public IReadOnlyList<string> Ids => ids;

    /// <summary>Class names, label k = name k (for a mask folder without classes.txt found by decoding its masks once, on first use).</summary>
    public IReadOnlyList<string> ClassNames => source.ClassNames.Value;

    public int Count => entries.Count;

    public string ImagePath(int index) => entries[index].ImagePath;

    /// <summary>The mask file of sample <paramref name="index"/> (for COCO the annotation file it is rasterised from).</summary>
    public string MaskPath(int index) => entries[index].MaskPath;

    /// <summary>Width and height of sample <paramref name="index"/>, from its file header (read when the dataset was opened).</summary>
    public (int Width, int Height) ImageSize(int index) => sizes[index];

    public SegmentationSample this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, entries.Count);
            var cached = Volatile.Read(ref cache[index]);
            if (cached != null) return cached;
            var sample = Load(index);
            long bytes = sample.Image.LongLength + sample.Mask.LongLength;
            if (Interlocked.Add(ref cachedBytes, bytes) <= cacheBudget)
            {
                var winner = Interlocked.CompareExchange(ref cache[index], sample, null);
                if (winner == null) return sample;
                Interlocked.Add(ref cachedBytes, -bytes); // another thread cached it first
                return winner;
            }
            Interlocked.Add(ref cachedBytes, -bytes);
            return sample;
        }
    }

    SegmentationSample Load(int index)
    {
        var entry = entries[index];
        var image = RgbImageFile.Read(entry.ImagePath);
        var mask = source.Masks.Read(entry);
        if (image.Width != mask.Width || image.Height != mask.Height)
        {
            var (file, problem) = source.Masks.SizeMismatch(entry, (mask.Width, mask.Height), (image.Width, image.Height));
            throw new InputException(file, problem);
        }
        int bad = source.Mapping.FirstUnknown(mask.Pixels);
        if (bad >= 0)
            throw new InputException(entry.MaskPath, source.Mapping.Problem(mask, bad));
        source.Mapping.Apply(mask.Pixels); // the decoded array is this sample's own
        return new SegmentationSample(entry.Id, image.Width, image.Height, image.Pixels, mask.Pixels);
    }

    public IEnumerator<SegmentationSample> GetEnumerator()
    {
        for (int i = 0; i < entries.Count; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
