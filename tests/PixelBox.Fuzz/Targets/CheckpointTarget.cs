using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PixelBox.Data;
using PixelBox.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PixelBox.Fuzz.Targets;

/// <summary>
/// Checkpoints through every reader path: <see cref="Checkpoint.Open"/>, the model description
/// (<see cref="SegmentationModelInfo.FromCheckpoint"/>), the training state (<see cref="Trainer.ReadOptions"/>),
/// and the weights and optimizer state loaded into a model and optimizer of the seeds' architecture. Each
/// must refuse a bad file with one line. Half the mutations repair the lengths and checksums after changing
/// the header or a section, so the readers behind the checksums are reached too.
/// </summary>
static class CheckpointTarget
{
    // the architecture of the seed checkpoints (written by the fuzz program's "seeds" command)
    static readonly Lazy<(nn.Module Model, OptimizerHelper Optimizer)> Receiver = new(() =>
    {
        var model = SeedModel();
        return (model, new SGD(model.parameters(), 0.1, momentum: 0.9));
    });

    public static FuzzTarget Create() => new()
    {
        Name = "checkpoint",
        Checks = "checkpoints: Open, model description, training state, LoadModel, LoadOptimizer refuse bad files with one line",
        Run = Run,
        Mutate = Mutate,
        Dictionary = [.. new[] { "\"format_version\":", "\"sections\":", "\"length\":", "\"sha256\":", "\"model\":", "\"training\":",
            "\"num_classes\":", "\"class_names\":", "\"normalization\":", "\"epochs\":", "null", "[]", "{}", "-1", "1e308", "\"\"" }.Select(Encoding.ASCII.GetBytes)],
        MaxInputBytes = 1 << 20,
    };

    static void Run(byte[] input)
    {
        var path = TempFiles.Write(input, "");
        var checkpoint = Checkpoint.Open(path);
        var (model, optimizer) = Receiver.Value;
        Step(path, () => SegmentationModelInfo.FromCheckpoint(checkpoint));
        Step(path, () => Trainer.ReadOptions(checkpoint));
        Step(path, () => checkpoint.LoadModel(model));
        Step(path, () => checkpoint.LoadOptimizer(optimizer));
    }

    /// <summary>One reader; its InputException (one line, naming the file) is fine, the next reader still runs.</summary>
    static void Step(string path, Action read)
    {
        try
        {
            read();
        }
        catch (InputException e) when (!e.Message.Contains('\n') && e.Message.Contains(path))
        {
        }
    }

    public static nn.Module SeedModel()
    {
        torch.manual_seed(7);
        return nn.Sequential(("conv", nn.Conv2d(3, 2, 1)), ("bn", nn.BatchNorm2d(2)));
    }

    /// <summary>The seed checkpoints: the tiny model after one SGD step, with a full segmentation header; and without optimizer state.</summary>
    public static void WriteSeeds(string directory)
    {
        var model = SeedModel();
        var optimizer = new SGD(model.parameters(), 0.1, momentum: 0.9);
        using (var input = torch.rand(2, 3, 4, 4))
        using (var output = ((nn.Module<Tensor, Tensor>)model).forward(input))
        using (var loss = output.square().mean())
        {
            loss.backward();
            optimizer.step();
        }
        var info = new SegmentationModelInfo("unet-same", 2, 3, ["background", "object"], Normalization.ImageNet, 255, new ModelSize(8, 2));
        var state = new TrainingState
        {
            Options = new TrainingOptions { Epochs = 1, Optimizer = OptimizerKind.Sgd },
            Epoch = 1,
            Iteration = 4,
            BestMetric = 0.5,
            BestEpoch = 1,
            Seconds = 1.5,
            History = [new EpochSummary(1, 4, 0.7, 0.01, 1.5, new Dictionary<string, double> { ["mean_iou"] = 0.5 }, true)],
        };
        var header = new JsonObject { ["model"] = info.ToJson(), ["task"] = new JsonObject { ["data_root"] = "data" }, ["training"] = state.ToJson() };
        Checkpoint.Write(Path.Combine(directory, "full.ckpt"), header, model, optimizer);
        Checkpoint.Write(Path.Combine(directory, "weights-only.ckpt"), new JsonObject { ["model"] = info.ToJson() }, model, null);
    }

    // ------------------------------------------------------------------ format-aware mutation
    static readonly byte[] Magic = "PIXELBOX-CKPT v2\n"u8.ToArray();

    /// <summary>
    /// Changes the header JSON or a section, then (usually) repairs the section table and both checksums. The
    /// optimizer section is changed without repair only: TorchSharp's optimizer readers take tensor ranks and
    /// sizes from the stream and allocate before checking them, so a forged optimizer state whose checksum was
    /// recomputed can make them reserve gigabytes before they fail (with one line); the checksums keep every
    /// damaged or foreign file away from them, which is what is fuzzed.
    /// </summary>
    static byte[] Mutate(byte[] input, Random random)
    {
        if (!TrySplit(input, out var headerBytes, out var sections))
            return Mutator.Mutate(input, random, [], [], 1 << 20);
        bool repair = random.Next(4) != 0;
        if (random.Next(3) == 0 || sections.Count == 0)
            headerBytes = Mutator.Mutate(headerBytes, random, [], [.. new[] { "null", "-1", "0", "1e308", "\"x\"", "[]", "{}", "true" }.Select(Encoding.ASCII.GetBytes)], 1 << 16);
        else
        {
            int i = random.Next(sections.Count);
            sections[i] = Mutator.Mutate(sections[i], random, [], [], 1 << 20);
            repair &= i == 0; // the model section, checked against the model before TorchSharp reads it
        }
        if (repair)
            headerBytes = RepairSectionTable(headerBytes, sections);
        using var output = new MemoryStream();
        output.Write(Magic);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, headerBytes.Length);
        output.Write(length);
        output.Write(repair ? SHA256.HashData(headerBytes) : new byte[32]);
        output.Write(headerBytes);
        foreach (var section in sections)
            output.Write(section);
        return output.ToArray();
    }

    static bool TrySplit(byte[] input, out byte[] header, out List<byte[]> sections)
    {
        header = [];
        sections = [];
        int at = Magic.Length + 4 + 32;
        if (input.Length < at || !input.AsSpan().StartsWith(Magic))
            return false;
        int length = BinaryPrimitives.ReadInt32LittleEndian(input.AsSpan(Magic.Length));
        if (length <= 0 || at + (long)length > input.Length)
            return false;
        header = input.AsSpan(at, length).ToArray();
        int offset = at + length;
        try
        {
            if (JsonNode.Parse(header)?["sections"] is JsonArray table)
                foreach (var entry in table)
                {
                    long n = (long?)entry?["length"] ?? 0;
                    if (n < 0 || offset + n > input.Length)
                        return false;
                    sections.Add(input.AsSpan(offset, (int)n).ToArray());
                    offset += (int)n;
                }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            return false;
        }
        return true;
    }

    /// <summary>The header with each section's length and SHA-256 set to the (mutated) bytes, when it still parses.</summary>
    static byte[] RepairSectionTable(byte[] header, List<byte[]> sections)
    {
        try
        {
            if (JsonNode.Parse(header) is not JsonObject json || json["sections"] is not JsonArray table)
                return header;
            for (int i = 0; i < table.Count && i < sections.Count; i++)
                if (table[i] is JsonObject entry)
                {
                    entry["length"] = sections[i].Length;
                    entry["sha256"] = Convert.ToHexStringLower(SHA256.HashData(sections[i]));
                }
            return Encoding.UTF8.GetBytes(json.ToJsonString());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or ArgumentException)
        {
            return header;
        }
    }
}
