using PixelBox.Data;

namespace PixelBox.Models;

/// <summary>How an image becomes the square network input.</summary>
public enum ResizeMode
{
    /// <summary>Scaled to fit, aspect ratio kept, padded with grey to the square (YOLO).</summary>
    Letterbox,

    /// <summary>Scaled to the square, aspect ratio not kept (torchvision's SSD).</summary>
    Stretch,
}

/// <summary>
/// A detector's pre- and post-processing, part of its configuration and saved in its checkpoint:
/// input side, resize mode and normalisation on the way in; score threshold, per-class candidates,
/// NMS IoU and detection limit on the way out.
/// </summary>
public sealed record DetectionSettings
{
    /// <summary>Side of the square network input in pixels.</summary>
    public required int InputSize { get; init; }

    public ResizeMode Resize { get; init; } = ResizeMode.Letterbox;

    public required Normalization Normalization { get; init; }

    /// <summary>Detections scoring below this are dropped before NMS.</summary>
    public double ScoreThreshold { get; init; } = 0.001;

    /// <summary>Highest-scoring candidates kept per class before NMS.</summary>
    public int CandidatesPerClass { get; init; } = 1000;

    /// <summary>IoU above which NMS suppresses the lower-scoring box (of the same class unless class-agnostic).</summary>
    public double NmsIou { get; init; } = 0.6;

    public bool ClassAgnosticNms { get; init; }

    /// <summary>Detections kept per image after NMS, highest score first.</summary>
    public int MaxDetections { get; init; } = 300;

    /// <summary>Rejects values no detector can use, naming the setting.</summary>
    public void Validate()
    {
        static void Check(bool ok, string what)
        {
            if (!ok) throw new ArgumentException(what);
        }
        Check(InputSize is >= 8 and <= 8192, $"input size must be in [8, 8192] (got {InputSize})");
        Check(ScoreThreshold is >= 0 and <= 1, $"score threshold must be in [0, 1] (got {ScoreThreshold})");
        Check(CandidatesPerClass >= 1, $"candidates per class must be positive (got {CandidatesPerClass})");
        Check(NmsIou is > 0 and <= 1, $"NMS IoU must be in (0, 1] (got {NmsIou})");
        Check(MaxDetections >= 1, $"detections per image must be positive (got {MaxDetections})");
    }
}
