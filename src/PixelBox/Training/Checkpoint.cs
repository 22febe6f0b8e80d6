using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>
/// A training checkpoint in one file: a magic line naming the format version, a JSON header (by convention
/// "model": what the model is and how to feed it, "task": how the task was set up, "training": where
/// training stands) and the binary model and optimizer state (TorchSharp's state-dict streams). The header
/// and every section are checked by length and SHA-256, so a truncated, damaged or foreign file is refused
/// with one line instead of silently loading garbage (a flipped bit in the header could otherwise turn
/// "epochs": 1 into 9 and a resumed run would obey).
/// </summary>
/// <remarks>
/// Layout (format 2): "PIXELBOX-CKPT v2\n"; the header length (int32 little-endian); the SHA-256 of the
/// header (32 bytes); the UTF-8 JSON header, which repeats "format_version" and lists the sections
/// ("sections": [{name, length, sha256}]); then the sections in that order, ending exactly at the end of
/// the file. Format 1 ("PIXELBOX-CKPT\n", no header checksum) is refused with a message naming it.
/// </remarks>
public sealed class Checkpoint
{
    const int FormatVersion = 2;
    static readonly byte[] MagicPrefix = "PIXELBOX-CKPT"u8.ToArray();
    static readonly byte[] Magic = Encoding.ASCII.GetBytes($"PIXELBOX-CKPT v{FormatVersion}\n");
    const int MaxHeaderBytes = 64 << 20;
    const int Sha256Bytes = 32;

    readonly Dictionary<string, (long Offset, long Length, string Sha256)> sections;
    readonly long fileLength;

    Checkpoint(string path, JsonObject header, Dictionary<string, (long Offset, long Length, string Sha256)> sections, long fileLength)
    {
        Path = path;
        Header = header;
        this.sections = sections;
        this.fileLength = fileLength;
    }

    public string Path { get; }

    /// <summary>The whole header: what the writer stored, plus "format_version" and "sections".</summary>
    public JsonObject Header { get; }

    /// <summary>What the writer stored about the model (architecture name, classes, normalisation, ...).</summary>
    public JsonObject Model => Header["model"] as JsonObject ?? throw new InputException(Path, "checkpoint header has no \"model\" object");

    /// <summary>Where training stands (the trainer's state), if the checkpoint came from a trainer.</summary>
    public JsonObject? Training => Header["training"] as JsonObject;

    public bool HasOptimizerState => sections.ContainsKey("optimizer");

    /// <summary>Writes a checkpoint atomically (temp file + rename): a crash leaves the previous file intact.</summary>
    /// <param name="path">Destination.</param>
    /// <param name="content">Header entries; must include a "model" object.</param>
    /// <param name="module">Whose parameters and buffers are stored.</param>
    /// <param name="optimizer">Whose state is stored too, for resuming.</param>
    public static void Write(string path, JsonObject content, nn.Module module, OptimizerHelper? optimizer)
    {
        if (content["model"] is not JsonObject)
            throw new ArgumentException("a checkpoint header needs a \"model\" object", nameof(content));
        if (content.ContainsKey("format_version") || content.ContainsKey("sections"))
            throw new ArgumentException("\"format_version\" and \"sections\" are reserved header entries", nameof(content));
        var payloads = new List<(string Name, byte[] Bytes)> { ("model", Serialize(w => module.save(w))) };
        if (optimizer is not null)
            payloads.Add(("optimizer", Serialize(optimizer.save_state_dict)));

        var header = new JsonObject { ["format_version"] = FormatVersion };
        foreach (var (key, value) in content)
            header[key] = value?.DeepClone();
        header["sections"] = new JsonArray(payloads.Select(p => (JsonNode)new JsonObject
        {
            ["name"] = p.Name,
            ["length"] = p.Bytes.LongLength,
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(p.Bytes)),
        }).ToArray());
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        AtomicFile.Write(path, stream =>
        {
            stream.Write(Magic);
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
            stream.Write(length);
            stream.Write(SHA256.HashData(headerBytes));
            stream.Write(headerBytes);
            foreach (var (_, bytes) in payloads)
                stream.Write(bytes);
        });
    }

    /// <summary>
    /// Reads and checks the header (its checksum, then its JSON and section table); the weights are read and
    /// checked by the Load methods. Every problem is an <see cref="InputException"/> naming the file.
    /// </summary>
    public static Checkpoint Open(string path)
    {
        using var file = InputFile.OpenRead(path);
        long fileLength = file.Length;
        var prefix = new byte[Magic.Length + 4 + Sha256Bytes];
        int got = ReadUpTo(file, path, prefix);
        CheckMagic(path, prefix.AsSpan(0, got));
        if (got < prefix.Length)
            throw new InputException(path, "truncated checkpoint (the file ends inside its preamble)");
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
        if (headerLength <= 0 || headerLength > MaxHeaderBytes)
            throw new InputException(path, $"corrupt checkpoint (bad header length {headerLength})");
        if (prefix.Length + (long)headerLength > fileLength)
            throw new InputException(path, $"truncated checkpoint (the header needs {prefix.Length + (long)headerLength} bytes, the file has {fileLength})");
        var headerBytes = new byte[headerLength];
        InputFile.ReadExactly(file, path, headerBytes);
        if (!SHA256.HashData(headerBytes).AsSpan().SequenceEqual(prefix.AsSpan(Magic.Length + 4)))
            throw new InputException(path, "corrupt checkpoint (checksum mismatch in the header)");

        JsonObject header;
        try
        {
            if (!System.Text.Unicode.Utf8.IsValid(headerBytes))
                throw new JsonException("not UTF-8 text");
            // duplicate names are refused while parsing (a JsonObject would otherwise throw on first access)
            header = JsonNode.Parse(headerBytes, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new JsonException("not a JSON object");
            CheckStrings(header);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InputException(path, $"corrupt checkpoint header ({e.Message.Split('\n')[0]})");
        }
        var version = header["format_version"] is JsonValue v && v.TryGetValue<int>(out var n) ? n : -1;
        if (version != FormatVersion)
            throw new InputException(path, $"corrupt checkpoint header (format_version {version} in a format {FormatVersion} file)");

        var table = ReadSectionTable(path, header, prefix.Length + (long)headerLength);
        long end = table.Values.Aggregate(prefix.Length + (long)headerLength, (at, s) => Math.Max(at, s.Offset + s.Length));
        if (end != fileLength)
            throw new InputException(path, end > fileLength
                ? $"truncated checkpoint (expected {end} bytes, the file has {fileLength})"
                : $"corrupt checkpoint ({fileLength - end} unexpected bytes after the last section)");
        if (!table.ContainsKey("model"))
            throw new InputException(path, "checkpoint holds no model weights");
        return new Checkpoint(System.IO.Path.GetFullPath(path), header, table, fileLength);
    }

    /// <summary>
    /// Reads every name and string of the parsed header once: a JsonNode converts its text lazily and throws
    /// InvalidOperationException at the first access to an escape that is not valid UTF-16 (a lone surrogate),
    /// which would otherwise surface far from the reader.
    /// </summary>
    static void CheckStrings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (_, value) in obj)
                    CheckStrings(value);
                break;
            case JsonArray array:
                foreach (var item in array)
                    CheckStrings(item);
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                value.GetValue<string>();
                break;
        }
    }

    /// <summary>The magic line: ours and of this format, of another format version, or not a checkpoint.</summary>
    static void CheckMagic(string path, ReadOnlySpan<byte> start)
    {
        if (start.StartsWith(Magic))
            return;
        if (!start.StartsWith(MagicPrefix))
            throw new InputException(path, "not a PixelBox checkpoint");
        var rest = start[MagicPrefix.Length..];
        if (rest.StartsWith("\n"u8))
            throw new InputException(path, $"checkpoint format 1 (written by an older PixelBox) is not supported: this build reads format {FormatVersion}; retrain, or load it with the PixelBox that wrote it");
        int newline = rest.IndexOf((byte)'\n');
        if (rest.StartsWith(" v"u8) && newline > 2 && int.TryParse(rest[2..newline], System.Globalization.NumberStyles.None, null, out int other))
            throw new InputException(path, other > FormatVersion
                ? $"checkpoint format {other} (written by a newer PixelBox) is not supported: this build reads format {FormatVersion}"
                : $"checkpoint format {other} is not supported: this build reads format {FormatVersion}");
        throw new InputException(path, "corrupt checkpoint (damaged magic line)");
    }

    /// <summary>header["sections"]: names, lengths and SHA-256 checksums, laid out one after the other from <paramref name="offset"/>.</summary>
    static Dictionary<string, (long Offset, long Length, string Sha256)> ReadSectionTable(string path, JsonObject header, long offset)
    {
        var table = new Dictionary<string, (long Offset, long Length, string Sha256)>();
        if (header["sections"] is not JsonArray list)
            throw new InputException(path, "corrupt checkpoint header (no section table)");
        foreach (var node in list)
        {
            if (node is not JsonObject entry
                || entry["name"] is not JsonValue nameValue || !nameValue.TryGetValue<string>(out var name)
                || entry["length"] is not JsonValue lengthValue || !lengthValue.TryGetValue<long>(out var length)
                || entry["sha256"] is not JsonValue shaValue || !shaValue.TryGetValue<string>(out var sha))
                throw new InputException(path, "corrupt checkpoint header (bad section table)");
            if (length < 0 || length > Array.MaxLength)
                throw new InputException(path, $"corrupt checkpoint header (section '{name}' has length {length})");
            if (sha.Length != 2 * Sha256Bytes || !sha.All(char.IsAsciiHexDigitLower))
                throw new InputException(path, $"corrupt checkpoint header (section '{name}' has a malformed checksum)");
            if (!table.TryAdd(name, (offset, length, sha)))
                throw new InputException(path, $"corrupt checkpoint header (section '{name}' listed twice)");
            offset += length;
        }
        return table;
    }

    static int ReadUpTo(FileStream file, string path, byte[] buffer)
    {
        try
        {
            return file.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (IOException e)
        {
            throw new InputException(path, "cannot read the file: " + e.Message, e);
        }
    }

    /// <summary>Loads the weights and buffers into <paramref name="module"/>, which must have the stored architecture.</summary>
    public void LoadModel(nn.Module module)
    {
        var bytes = ReadSection("model");
        if (ModelStreamProblem(bytes, module) is { } problem)
            throw new InputException(Path, $"model weights do not fit the model ({problem})");
        try
        {
            using var reader = new BoundedReader(new MemoryStream(bytes));
            module.load(reader, strict: true);
        }
        catch (Exception e) when (IsDecodingError(e))
        {
            throw new InputException(Path, $"model weights do not fit the model ({FirstLine(e.Message)})");
        }
    }

    /// <summary>Restores the optimizer's per-parameter state (momenta, step counts) for an exact resume.</summary>
    public void LoadOptimizer(OptimizerHelper optimizer)
    {
        if (!HasOptimizerState)
            throw new InputException(Path, "checkpoint holds no optimizer state, so training cannot resume from it");
        var bytes = ReadSection("optimizer");
        try
        {
            using var reader = new BoundedReader(new MemoryStream(bytes));
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (IsDecodingError(e))
        {
            throw new InputException(Path, $"optimizer state does not fit the optimizer ({FirstLine(e.Message)})");
        }
    }

    /// <summary>
    /// What TorchSharp's state-dict readers throw on a stream that is not the one they expect (another
    /// architecture, or bytes that passed the checksum but were not written for this model): names, shapes
    /// and types that do not match, lengths that run past the end or overflow. Only the stream's content can
    /// cause these, so they are the file's problem.
    /// </summary>
    static bool IsDecodingError(Exception e) =>
        e is ArgumentException or EndOfStreamException or InvalidDataException or IOException or OverflowException
            or NotImplementedException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException
            or FormatException or OutOfMemoryException or System.Runtime.InteropServices.ExternalException;

    /// <summary>
    /// Checks a TorchSharp state-dict stream (Module.save: an LEB128 entry count, then per entry a
    /// length-prefixed name, LEB128 dtype, rank and sizes, and the raw values) against the module it is
    /// loaded into: the same names, dtypes and shapes, and values that end exactly at the end. TorchSharp's
    /// reader trusts the lengths in the stream and allocates before it compares, so a stream that passed
    /// the checksum but does not fit is refused here, with the first difference named.
    /// </summary>
    static string? ModelStreamProblem(byte[] bytes, nn.Module module)
    {
        var expected = module.state_dict();
        using var reader = new BinaryReader(new MemoryStream(bytes), Encoding.UTF8);
        try
        {
            long entries = ReadLeb128(reader);
            if (entries != expected.Count)
                return $"{entries} tensors in the file, {expected.Count} in the model";
            var seen = new HashSet<string>();
            for (long i = 0; i < entries; i++)
            {
                int nameLength = reader.Read7BitEncodedInt();
                if (nameLength < 0 || nameLength > reader.BaseStream.Length - reader.BaseStream.Position)
                    return "a tensor name runs past the end";
                var name = Encoding.UTF8.GetString(reader.ReadBytes(nameLength));
                if (!expected.TryGetValue(name, out var tensor))
                    return $"the model has no tensor {Quote(name)}";
                if (!seen.Add(name))
                    return $"{Quote(name)} is stored twice";
                long dtype = ReadLeb128(reader), rank = ReadLeb128(reader);
                if (dtype != (long)tensor.dtype)
                    return $"{name}: element type {dtype} in the file, {(int)tensor.dtype} ({tensor.dtype}) in the model";
                if (rank != tensor.ndim)
                    return $"{name}: {rank} dimensions in the file, {tensor.ndim} in the model";
                var shape = new long[rank];
                for (int d = 0; d < rank; d++)
                    shape[d] = ReadLeb128(reader);
                if (!shape.AsSpan().SequenceEqual(tensor.shape))
                    return $"{name}: shape [{string.Join(", ", shape)}] in the file, [{string.Join(", ", tensor.shape)}] in the model";
                long valueBytes = tensor.numel() * tensor.ElementSize;
                if (valueBytes > reader.BaseStream.Length - reader.BaseStream.Position)
                    return $"{name}: the values run past the end";
                reader.BaseStream.Seek(valueBytes, SeekOrigin.Current);
            }
            return reader.BaseStream.Position == reader.BaseStream.Length ? null : "unexpected bytes after the last tensor";
        }
        catch (Exception e) when (e is EndOfStreamException or FormatException)
        {
            return "the stream ends early or is malformed";
        }
    }

    /// <summary>A name from the file as a message shows it: JSON-quoted (one line), cut after 60 characters.</summary>
    static string Quote(string name) => JsonSerializer.Serialize(name.Length > 60 ? name[..60] + "..." : name);

    /// <summary>TorchSharp's LEB128 integer (7 bits a byte, low first); more than 9 bytes is malformed.</summary>
    static long ReadLeb128(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
        throw new FormatException("LEB128 integer too long");
    }

    /// <summary>
    /// A reader that never allocates more than the bytes left: TorchSharp's readers call ReadBytes with a
    /// count taken from the stream, and BinaryReader allocates the count before reading.
    /// </summary>
    sealed class BoundedReader(Stream stream) : BinaryReader(stream)
    {
        public override byte[] ReadBytes(int count) =>
            base.ReadBytes((int)Math.Clamp(BaseStream.Length - BaseStream.Position, 0, Math.Max(count, 0)));
    }

    static string FirstLine(string message) => message.Split('\n')[0].TrimEnd('\r');

    byte[] ReadSection(string name)
    {
        var (offset, length, sha) = sections[name];
        var bytes = new byte[length];
        using (var file = InputFile.OpenRead(Path))
        {
            if (file.Length != fileLength)
                throw new InputException(Path, "checkpoint changed on disk since it was opened");
            file.Seek(offset, SeekOrigin.Begin);
            InputFile.ReadExactly(file, Path, bytes);
        }
        if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), sha, StringComparison.Ordinal))
            throw new InputException(Path, $"corrupt checkpoint (checksum mismatch in the {name} section)");
        return bytes;
    }

    static byte[] Serialize(Action<BinaryWriter> save)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, Encoding.UTF8, leaveOpen: true))
        {
            save(writer);
        }
        return memory.ToArray();
    }
}
