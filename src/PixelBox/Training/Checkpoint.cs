using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Training;

/// <summary>
/// A training checkpoint in one file: a magic line, a JSON header (by convention "model": what the model
/// is and how to feed it, "task": how the task was set up, "training": where training stands) and the
/// binary model and optimizer state (TorchSharp's state-dict streams), each section checked by length
/// and SHA-256 so a truncated or damaged file is reported instead of silently loading garbage.
/// </summary>
/// <remarks>
/// Layout: "PIXELBOX-CKPT\n", header length (int32 little-endian), UTF-8 JSON header, then the
/// sections listed in header["sections"] in order.
/// </remarks>
public sealed class Checkpoint
{
    const int FormatVersion = 1;
    static readonly byte[] Magic = "PIXELBOX-CKPT\n"u8.ToArray();
    const int MaxHeaderBytes = 64 << 20;

    readonly Dictionary<string, (long Offset, long Length, string Sha256)> sections;

    Checkpoint(string path, JsonObject header, Dictionary<string, (long, long, string)> sections)
    {
        Path = path;
        Header = header;
        this.sections = sections;
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
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
            stream.Write(length);
            stream.Write(headerBytes);
            foreach (var (_, bytes) in payloads)
                stream.Write(bytes);
        });
    }

    /// <summary>Reads and checks the header and section table; the weights are read by the Load methods.</summary>
    public static Checkpoint Open(string path)
    {
        FileStream file;
        try { file = File.OpenRead(path); }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new InputException(path, "file not found");
        }
        using (file)
        {
            var prefix = new byte[Magic.Length + 4];
            if (file.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false) < prefix.Length
                || !prefix.AsSpan(0, Magic.Length).SequenceEqual(Magic))
                throw new InputException(path, "not a PixelBox checkpoint");
            int headerLength = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(prefix.AsSpan(Magic.Length));
            if (headerLength <= 0 || headerLength > MaxHeaderBytes || prefix.Length + (long)headerLength > file.Length)
                throw new InputException(path, "corrupt checkpoint (bad header length)");
            var headerBytes = new byte[headerLength];
            file.ReadExactly(headerBytes);

            JsonObject header;
            try
            {
                header = JsonNode.Parse(headerBytes) as JsonObject ?? throw new JsonException("not an object");
            }
            catch (JsonException e)
            {
                throw new InputException(path, $"corrupt checkpoint header ({e.Message})");
            }
            var version = header["format_version"]?.GetValueKind() == JsonValueKind.Number ? (int)header["format_version"]! : -1;
            if (version != FormatVersion)
                throw new InputException(path, $"unsupported checkpoint format version {version} (this build reads {FormatVersion})");

            var table = new Dictionary<string, (long, long, string)>();
            long offset = prefix.Length + headerLength;
            try
            {
                foreach (var node in header["sections"]!.AsArray())
                {
                    var name = (string)node!["name"]!;
                    var length = (long)node["length"]!;
                    var sha = (string)node["sha256"]!;
                    if (length < 0) throw new FormatException("negative section length");
                    table[name] = (offset, length, sha);
                    offset += length;
                }
            }
            catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
            {
                throw new InputException(path, "corrupt checkpoint header (bad section table)");
            }
            if (offset != file.Length)
                throw new InputException(path, $"truncated or corrupt checkpoint (expected {offset} bytes, file has {file.Length})");
            if (!table.ContainsKey("model"))
                throw new InputException(path, "checkpoint holds no model weights");
            return new Checkpoint(System.IO.Path.GetFullPath(path), header, table);
        }
    }

    /// <summary>Loads the weights and buffers into <paramref name="module"/>, which must have the stored architecture.</summary>
    public void LoadModel(nn.Module module)
    {
        var bytes = ReadSection("model");
        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes));
            module.load(reader, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or EndOfStreamException or InvalidDataException or IOException)
        {
            throw new InputException(Path, $"model weights do not fit the model ({e.Message})");
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
            using var reader = new BinaryReader(new MemoryStream(bytes));
            optimizer.load_state_dict(reader);
        }
        catch (Exception e) when (e is ArgumentException or EndOfStreamException or InvalidDataException or IOException)
        {
            throw new InputException(Path, $"optimizer state does not fit ({e.Message})");
        }
    }

    byte[] ReadSection(string name)
    {
        var (offset, length, sha) = sections[name];
        var bytes = new byte[length];
        using (var file = File.OpenRead(Path))
        {
            file.Seek(offset, SeekOrigin.Begin);
            file.ReadExactly(bytes);
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
