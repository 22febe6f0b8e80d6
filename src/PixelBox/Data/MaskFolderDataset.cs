using System.Collections;
using PixelBox.Imaging;
using PixelBox.Masks;

namespace PixelBox.Data;

/// <summary>
/// A segmentation dataset on disk: root/images/&lt;id&gt;.(png|jpg|jpeg|bmp|webp) paired by file stem with
/// root/masks/&lt;id&gt;.png (index masks, grayscale or palette), optional root/train.txt, root/val.txt
/// (ids one per line) and root/classes.txt (one class name per line, line k = label k).
/// Opening checks the pairing and the image/mask sizes (from file headers); pixels are decoded on first
/// access and kept in memory up to a byte budget, so later epochs cost no decoding. Thread-safe.
/// </summary>
public sealed class MaskFolderDataset : IReadOnlyList<SegmentationSample>
{
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp", ".webp"];

    /// <summary>Decoded samples are cached until they take this many bytes (image + mask); later ones are decoded on every access.</summary>
    public const long DefaultCacheBytes = 2L << 30;

    /// <summary>The conventional "ignore" label (VOC's void boundary); always accepted in masks.</summary>
    public const byte IgnoreLabel = 255;

    readonly string[] ids, imagePaths, maskPaths;
    readonly (int Width, int Height)[] sizes;
    readonly string[] allMaskPaths;
    readonly int? declaredClasses;
    readonly Lazy<IReadOnlyList<string>> classNames;
    readonly SegmentationSample?[] cache;
    readonly long cacheBudget;
    long cachedBytes;

    MaskFolderDataset(string root, string[] ids, string[] imagePaths, string[] maskPaths, (int, int)[] sizes, string[] allMaskPaths,
                      string[]? declaredClassNames, long cacheBytes)
    {
        this.sizes = sizes;
        Root = root;
        this.ids = ids;
        this.imagePaths = imagePaths;
        this.maskPaths = maskPaths;
        this.allMaskPaths = allMaskPaths;
        declaredClasses = declaredClassNames?.Length;
        classNames = declaredClassNames != null
            ? new Lazy<IReadOnlyList<string>>(declaredClassNames)
            : new Lazy<IReadOnlyList<string>>(NumberedClassNames);
        cache = new SegmentationSample?[ids.Length];
        cacheBudget = cacheBytes;
    }

    public string Root { get; }

    /// <summary>Sample ids (file stems) in dataset order: the split file's order, or ordinal order without a split.</summary>
    public IReadOnlyList<string> Ids => ids;

    /// <summary>
    /// From root/classes.txt when present. Otherwise "class 0" .. "class K" where K is the largest label
    /// (other than 255) in all masks of the folder, found by decoding them once on first use.
    /// </summary>
    public IReadOnlyList<string> ClassNames => classNames.Value;

    public int Count => ids.Length;

    public string ImagePath(int index) => imagePaths[index];

    public string MaskPath(int index) => maskPaths[index];

    /// <summary>Width and height of sample <paramref name="index"/>, from its file header (read when the dataset was opened).</summary>
    public (int Width, int Height) ImageSize(int index) => sizes[index];

    /// <summary>
    /// Opens root; <paramref name="split"/> "train"/"val"/... selects the ids listed in root/{split}.txt, null all pairs.
    /// Throws <see cref="InputException"/> naming the file for a missing folder or split file, an image without
    /// a mask or a mask without an image, two images with one id, an unknown id in the split file, an unreadable
    /// header or an image/mask size mismatch. Decoding errors (corrupt pixel data) and, when classes.txt
    /// exists, labels outside 0..classes-1 (255 = ignore is allowed) surface when the sample is read.
    /// </summary>
    public static MaskFolderDataset Open(string root, string? split = null, long cacheBytes = DefaultCacheBytes)
    {
        if (!Directory.Exists(root))
            throw new InputException(root, File.Exists(root) ? "is a file, not a dataset folder" : "dataset folder not found");
        var imagesDir = Path.Combine(root, "images");
        var masksDir = Path.Combine(root, "masks");
        foreach (var dir in new[] { imagesDir, masksDir })
            if (!Directory.Exists(dir))
                throw new InputException(dir, "folder not found; a mask-folder dataset has images/ and masks/ with files paired by name");

        var images = FilesByStem(imagesDir, ImageExtensions);
        var masks = FilesByStem(masksDir, [".png"]);
        foreach (var (stem, path) in images)
            if (!masks.ContainsKey(stem))
                throw new InputException(path, $"image has no mask (expected {Path.Combine(masksDir, stem + ".png")})");
        foreach (var (stem, path) in masks)
            if (!images.ContainsKey(stem))
                throw new InputException(path, $"mask has no image (expected {Path.Combine(imagesDir, stem)} with one of {string.Join(", ", ImageExtensions)})");
        if (images.Count == 0) throw new InputException(root, "no image/mask pairs found in images/ and masks/");

        var ids = split == null ? images.Keys.ToArray() : ReadSplit(Path.Combine(root, split + ".txt"), images);
        var imagePaths = ids.Select(id => images[id]).ToArray();
        var maskPaths = ids.Select(id => masks[id]).ToArray();
        var sizes = new (int, int)[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            var (iw, ih) = RgbImageFile.ReadSize(imagePaths[i]);
            var (mw, mh) = RgbImageFile.ReadSize(maskPaths[i]);
            if (iw != mw || ih != mh)
                throw new InputException(maskPaths[i], $"mask is {mw}x{mh} but its image {imagePaths[i]} is {iw}x{ih}");
            sizes[i] = (iw, ih);
        }

        var classesFile = Path.Combine(root, "classes.txt");
        var names = Path.Exists(classesFile) ? ReadClassNames(classesFile) : null;
        return new MaskFolderDataset(root, ids, imagePaths, maskPaths, sizes, masks.Values.ToArray(), names, cacheBytes);
    }

    public SegmentationSample this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfNegative(index);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ids.Length);
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
        var image = RgbImageFile.Read(imagePaths[index]);
        var mask = IndexMaskPng.Read(maskPaths[index]);
        if (image.Width != mask.Width || image.Height != mask.Height)
            throw new InputException(maskPaths[index], $"mask is {mask.Width}x{mask.Height} but its image {imagePaths[index]} is {image.Width}x{image.Height}");
        if (declaredClasses is int classes && classes < IgnoreLabel)
        {
            int bad = mask.Pixels.AsSpan().IndexOfAnyInRange((byte)classes, (byte)(IgnoreLabel - 1));
            if (bad >= 0)
                throw new InputException(maskPaths[index],
                    $"label {mask.Pixels[bad]} at pixel ({bad % mask.Width}, {bad / mask.Width}) is not one of the {classes} classes in classes.txt (labels 0..{classes - 1}, 255 = ignore)");
        }
        return new SegmentationSample(ids[index], image.Width, image.Height, image.Pixels, mask.Pixels);
    }

    IReadOnlyList<string> NumberedClassNames()
    {
        int max = 0;
        var gate = new object();
        Parallel.ForEach(allMaskPaths, path =>
        {
            var pixels = IndexMaskPng.Read(path).Pixels;
            int localMax = 0;
            foreach (var v in pixels)
                if (v != IgnoreLabel && v > localMax) localMax = v;
            lock (gate) max = Math.Max(max, localMax);
        });
        return Enumerable.Range(0, max + 1).Select(k => $"class {k}").ToArray();
    }

    /// <summary>
    /// The files of <paramref name="dir"/> with one of the extensions, by stem. Each must be a regular file: a
    /// FIFO, socket or device among them is refused here, before anything tries to read it (and blocks).
    /// </summary>
    static SortedDictionary<string, string> FilesByStem(string dir, IReadOnlyList<string> extensions)
    {
        var byStem = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in ListFiles(dir))
        {
            var name = Path.GetFileName(path);
            if (name.StartsWith('.')) continue; // hidden and temp files
            if (!extensions.Contains(Path.GetExtension(name), StringComparer.OrdinalIgnoreCase)) continue;
            InputFile.CheckRegular(path);
            var stem = Path.GetFileNameWithoutExtension(name);
            if (byStem.TryGetValue(stem, out var other))
                throw new InputException(path, $"two files with the id '{stem}' ({Path.GetFileName(other)} and {name}); keep one");
            byStem.Add(stem, path);
        }
        return byStem;
    }

    static List<string> ListFiles(string dir)
    {
        try
        {
            return Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).ToList();
        }
        catch (UnauthorizedAccessException)
        {
            throw new InputException(dir, "permission denied (the folder cannot be listed)");
        }
        catch (IOException e)
        {
            throw new InputException(dir, "cannot list the folder: " + e.Message);
        }
    }

    static string[] ReadSplit(string file, SortedDictionary<string, string> images)
    {
        if (!Path.Exists(file)) throw new InputException(file, "split file not found");
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lines = InputFile.ReadAllLines(file);
        for (int i = 0; i < lines.Length; i++)
        {
            var id = lines[i].Trim();
            if (id.Length == 0) continue;
            if (!images.ContainsKey(id))
                throw new InputException(file, $"line {i + 1}: no image/mask pair with id '{id}'");
            if (!seen.Add(id))
                throw new InputException(file, $"line {i + 1}: id '{id}' is listed twice");
            ids.Add(id);
        }
        if (ids.Count == 0) throw new InputException(file, "split file lists no ids");
        return ids.ToArray();
    }

    static string[] ReadClassNames(string file)
    {
        var lines = InputFile.ReadAllLines(file).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        int empty = lines.FindIndex(l => l.Length == 0);
        if (empty >= 0) throw new InputException(file, $"line {empty + 1} is empty (line 1 names label 0, line 2 label 1, ...)");
        if (lines.Count == 0) throw new InputException(file, "no class names");
        if (lines.Count > IgnoreLabel) throw new InputException(file, $"{lines.Count} classes; masks are 8-bit and label 255 means ignore, so at most 255");
        return lines.ToArray();
    }

    public IEnumerator<SegmentationSample> GetEnumerator()
    {
        for (int i = 0; i < ids.Length; i++) yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
