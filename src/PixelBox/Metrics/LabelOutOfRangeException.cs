namespace PixelBox.Metrics;

/// <summary>
/// A label that <see cref="ConfusionMatrix"/> refuses to count: a ground-truth label outside [0, NumClasses) that is
/// not the ignore index, or a prediction outside [0, NumClasses) (predictions are never ignored, so a prediction equal
/// to the ignore index is an error too). Such labels mean the data or the class count is wrong; counting them silently
/// would skew every metric.
/// </summary>
public sealed class LabelOutOfRangeException(long label, long position, bool inPrediction, int numClasses, int? ignoreIndex)
    : ArgumentOutOfRangeException(inPrediction ? "pred" : "gt")
{
    /// <summary>The offending label value.</summary>
    public long Label { get; } = label;

    /// <summary>Index of the first offending element in the (flattened, row-major) label array passed to Update.</summary>
    public long Position { get; } = position;

    /// <summary>True when the prediction holds the bad label, false when the ground truth does.</summary>
    public bool InPrediction { get; } = inPrediction;

    public int NumClasses { get; } = numClasses;

    public int? IgnoreIndex { get; } = ignoreIndex;

    /// <summary>One line, e.g. "ground-truth label 7 at position 53 outside [0, 5) and not the ignore index 255".</summary>
    public override string Message =>
        (InPrediction ? "prediction " : "ground-truth ") + DescribeAt($"position {Position}");

    /// <summary>The problem stated at a caller-chosen location, e.g. <c>DescribeAt("(x=3, y=5)")</c> gives
    /// "label 7 at (x=3, y=5) outside [0, 5) and not the ignore index 255".</summary>
    public string DescribeAt(string location) =>
        InPrediction && Label == IgnoreIndex
            ? $"label {Label} at {location} outside [0, {NumClasses}) (the ignore index applies to ground truth only)"
            : $"label {Label} at {location} outside [0, {NumClasses})"
              + (!InPrediction && IgnoreIndex is int ig ? $" and not the ignore index {ig}" : "");
}
