using System.Collections;
using System.Text;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace PixelBox.Interop;

/// <summary>A state-dict entry whose shape differs between the file and the model.</summary>
public sealed record ShapeMismatch(string Name, long[] FileShape, long[] ModelShape)
{
    public override string ToString() => $"{Name}: file [{string.Join(", ", FileShape)}], model [{string.Join(", ", ModelShape)}]";
}

/// <summary>
/// What loading a state dict into a module did: the entries loaded, the model's entries the file lacks
/// (missing), the file's entries the model lacks (unexpected), entries of different shapes, the file's
/// entries deliberately dropped by a name map (ignored) and remarks (e.g. BatchNorm batch counters).
/// </summary>
public sealed record StateDictReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<ShapeMismatch> WrongShapes,
    IReadOnlyList<string> Ignored,
    IReadOnlyList<string> Notes)
{
    /// <summary>Every model entry got a value and every file entry found a place.</summary>
    public bool IsExact => Missing.Count == 0 && Unexpected.Count == 0 && WrongShapes.Count == 0;

    /// <summary>One line: counts and the first <paramref name="listed"/> names of each kind of problem.</summary>
    public string Summary(int listed = 8)
    {
        var parts = new List<string>();
        if (Missing.Count > 0)
            parts.Add($"{Missing.Count} missing ({Names(Missing, listed)})");
        if (Unexpected.Count > 0)
            parts.Add($"{Unexpected.Count} unexpected ({Names(Unexpected, listed)})");
        if (WrongShapes.Count > 0)
            parts.Add($"{WrongShapes.Count} of wrong shape ({Names(WrongShapes.Select(w => w.ToString()).ToList(), listed)})");
        var problems = parts.Count == 0 ? "all entries match" : string.Join("; ", parts);
        return $"{problems}; {Loaded.Count} loadable";
    }

    /// <summary>Every name, one per line, grouped by kind (for a full report).</summary>
    public override string ToString() => Listing(int.MaxValue);

    /// <summary>The names one per line, grouped by kind, at most <paramref name="perKind"/> of each kind
    /// (then "... N more"), so that a file of another architecture gives a readable page, not thousands of lines.</summary>
    public string Listing(int perKind)
    {
        var text = new StringBuilder();
        void Section(string title, IEnumerable<string> items)
        {
            var list = items.ToList();
            if (list.Count == 0)
                return;
            text.AppendLine($"{title} ({list.Count}):");
            foreach (var item in list.Take(perKind))
                text.AppendLine($"  {item}");
            if (list.Count > perKind)
                text.AppendLine($"  ... {list.Count - perKind} more");
        }
        Section("missing (in the model, not in the file)", Missing);
        Section("unexpected (in the file, not in the model)", Unexpected);
        Section("wrong shape", WrongShapes.Select(w => w.ToString()));
        Section("ignored", Ignored);
        Section("notes", Notes);
        text.Append($"loaded: {Loaded.Count}");
        return text.ToString();
    }

    static string Names(IReadOnlyList<string> names, int listed) =>
        names.Count <= listed ? string.Join(", ", names) : string.Join(", ", names.Take(listed)) + $", ... {names.Count - listed} more";
}

/// <summary>
/// Loads PyTorch state dicts (a <c>torch.save</c> zip file, .pth/.pt, or .safetensors) into TorchSharp
/// modules by name, strictly by default: every entry of the model must be in the file with the same
/// shape and every entry of the file must have a place, else an <see cref="InputException"/> lists them
/// all and nothing is loaded. Non-strict loading copies what matches and returns the report.
/// </summary>
/// <remarks>
/// PyTorch conventions handled: BatchNorm's <c>num_batches_tracked</c> counters are optional on either
/// side (older checkpoints lack them; they matter only for momentum-free BatchNorm); a checkpoint wrapping
/// the state dict as <c>{"state_dict": ...}</c> or <c>{"model": ...}</c> and DataParallel's <c>module.</c>
/// prefix are unwrapped; 0-dimensional tensors may arrive as one-element vectors; floating values are
/// converted to the model's dtype. A name map renames file entries (or drops them: null) first, e.g. to
/// load an ImageNet classifier into a backbone.
/// </remarks>
public static class StateDictLoader
{
    const string BatchCounter = "num_batches_tracked";

    /// <summary>The tensors of a state-dict file, by name; unreadable files are InputExceptions.</summary>
    public static Dictionary<string, Tensor> Read(string path)
    {
        InputFile.CheckRegular(path); // missing, a folder, or a FIFO that would block the reader: one line
        var format = Sniff(path);
        try
        {
            return format switch
            {
                "zip" => Unwrap(PyTorchUnpickler.UnpickleStateDict(path), path),
                "safetensors" => Safetensors.LoadStateDict(path),
                "legacy" => throw new InputException(path,
                    "a legacy (pre-1.6) torch.save file; re-save it with a current torch.save or as .safetensors"),
                _ => throw new InputException(path, "neither a torch.save zip file (.pth/.pt) nor a .safetensors file"),
            };
        }
        catch (InputException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new InputException(path, $"not a readable state dict ({e.Message})", e);
        }
    }

    /// <summary>Reads <paramref name="path"/> and loads it into <paramref name="model"/> (see the class remarks).</summary>
    /// <param name="mapName">File name -> model name, or null to ignore the entry; identity when absent.</param>
    public static StateDictReport Load(nn.Module model, string path, bool strict = true, Func<string, string?>? mapName = null)
    {
        var state = Read(path);
        try
        {
            return Load(model, state, strict, mapName, path);
        }
        finally
        {
            foreach (var t in state.Values)
                t.Dispose();
        }
    }

    /// <summary>Loads <paramref name="state"/> into <paramref name="model"/>; <paramref name="source"/> names
    /// it in the strict-mode error.</summary>
    public static StateDictReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> state, bool strict = true,
        Func<string, string?>? mapName = null, string source = "state dict")
    {
        var report = Match(model.state_dict(), state, mapName, out var pairs);
        if (strict && !report.IsExact)
            throw new InputException(source, $"state dict does not fit the model: {report.Summary()}");
        using var noGrad = no_grad();
        foreach (var (from, into) in pairs)
        {
            using var reshaped = from.reshape(into.shape);
            into.copy_(reshaped);
        }
        return report;
    }

    /// <summary>Compares without copying: the report and the (file tensor, model tensor) pairs that fit.</summary>
    public static StateDictReport Match(IReadOnlyDictionary<string, Tensor> target, IReadOnlyDictionary<string, Tensor> state,
        Func<string, string?>? mapName, out List<(Tensor From, Tensor Into)> pairs)
    {
        var notes = new List<string>();
        var prefix = CommonWrapperPrefix(state.Keys);
        if (prefix != null)
            notes.Add($"'{prefix}' prefix removed from every name (a DataParallel checkpoint)");
        var (loaded, unexpected, ignored, wrong) = (new List<string>(), new List<string>(), new List<string>(), new List<ShapeMismatch>());
        var seen = new HashSet<string>();
        pairs = [];
        var extraCounters = 0;
        foreach (var (fileName, tensor) in state.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var stripped = prefix is null ? fileName : fileName[prefix.Length..];
            var name = mapName is null ? stripped : mapName(stripped);
            if (name is null)
            {
                ignored.Add(fileName);
                continue;
            }
            if (!target.TryGetValue(name, out var into))
            {
                if (name.EndsWith("." + BatchCounter, StringComparison.Ordinal))
                    extraCounters++;
                else
                    unexpected.Add(fileName);
                continue;
            }
            seen.Add(name);
            if (!Fits(tensor.shape, into.shape))
            {
                wrong.Add(new ShapeMismatch(name, tensor.shape, into.shape));
                continue;
            }
            pairs.Add((tensor, into));
            loaded.Add(name);
        }
        var missing = new List<string>();
        var absentCounters = 0;
        foreach (var name in target.Keys)
        {
            if (seen.Contains(name))
                continue;
            if (name.EndsWith("." + BatchCounter, StringComparison.Ordinal))
                absentCounters++;
            else
                missing.Add(name);
        }
        if (absentCounters > 0)
            notes.Add($"{absentCounters} BatchNorm {BatchCounter} counters not in the file: left as they were");
        if (extraCounters > 0)
            notes.Add($"{extraCounters} {BatchCounter} counters in the file have no place in the model: skipped");
        return new StateDictReport(loaded, missing, unexpected, wrong, ignored, notes);
    }

    /// <summary>Same shape, or both one element (PyBridge reads 0-d tensors of .pth files as [1]).</summary>
    static bool Fits(long[] from, long[] into) =>
        from.SequenceEqual(into) || (from.Length <= 1 && into.Length <= 1 && Numel(from) == 1 && Numel(into) == 1);

    static long Numel(long[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    static string? CommonWrapperPrefix(IEnumerable<string> names)
    {
        const string dataParallel = "module.";
        var list = names.ToList();
        return list.Count > 0 && list.All(n => n.StartsWith(dataParallel, StringComparison.Ordinal)) ? dataParallel : null;
    }

    /// <summary>"zip" (torch.save since 1.6), "safetensors", "legacy" (pickle-based torch.save) or "unknown", from the first bytes.</summary>
    static string Sniff(string path)
    {
        var head = new byte[16];
        int read;
        using (var stream = File.OpenRead(path))
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4)
            return "zip";
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
            return "legacy";
        if (read >= 9)
        {
            var headerLength = BitConverter.ToUInt64(head, 0);
            if (head[8] == '{' && headerLength > 1 && (long)headerLength < new FileInfo(path).Length)
                return "safetensors";
        }
        return "unknown";
    }

    /// <summary>The tensors of an unpickled torch.save object: a state dict itself, or a checkpoint dict
    /// holding one under "state_dict" or "model".</summary>
    static Dictionary<string, Tensor> Unwrap(Hashtable root, string path)
    {
        if (root.Count > 0 && root.Values.Cast<object?>().All(v => v is Tensor))
            return root.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        foreach (var key in new[] { "state_dict", "model" })
            if (root[key] is Hashtable inner && inner.Count > 0 && inner.Values.Cast<object?>().All(v => v is Tensor))
                return inner.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (Tensor)e.Value!);
        throw new InputException(path, root.Count == 0
            ? "the file holds no tensors"
            : "not a state dict (a dict of tensors, or a checkpoint with one under 'state_dict' or 'model')");
    }
}
