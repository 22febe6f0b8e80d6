namespace PixelBox.Metrics;

/// <summary>
/// A label that <see cref="ConfusionMatrix"/> refuses to count: a ground-truth label outside [0, NumClasses) that is
/// not the ignore index, or a prediction outside [0, NumClasses) (predictions are never ignored, so a prediction equal
/// to the ignore index is an error too). Such labels mean the data or the class count is wrong; counting them silently
/// would skew every metric.
/// </summary>
public sealed class LabelOutOfRangeException : ArgumentOutOfRangeException
{
    public LabelOutOfRangeException(long label, long position, bool inPrediction, int numClasses, int? ignoreIndex)
        : base(inPrediction ? "pred" : "gt", label, Describe(label, position, inPrediction, numClasses, ignoreIndex))
    {
        Label = label;
        Position = position;
        InPrediction = inPrediction;
        NumClasses = numClasses;
        IgnoreIndex = ignoreIndex;
    }

    /// <summary>One line, without the parameter/actual-value suffix the base class would add.</summary>
    public override string Message => Describe(Label, Position, InPrediction, NumClasses, IgnoreIndex);

    /// <summary>The offending label value.</summary>
    public long Label { get; }

    /// <summary>Index of the first offending element in the (flattened, row-major) label array passed to Update.</summary>
    public long Position { get; }

    /// <summary>True when the prediction holds the bad label, false when the ground truth does.</summary>
    public bool InPrediction { get; }

    public int NumClasses { get; }

    public int? IgnoreIndex { get; }

    /// <summary>The problem without the position, e.g. "label 7 outside [0, 5)", for callers that state the position their own way.</summary>
    public string Problem => Describe(Label, NumClasses, InPrediction, IgnoreIndex);

    static string Describe(long label, long position, bool inPrediction, int numClasses, int? ignoreIndex) =>
        $"{(inPrediction ? "prediction" : "ground-truth")} {Describe(label, numClasses, inPrediction, ignoreIndex)} at position {position}";

    static string Describe(long label, int numClasses, bool inPrediction, int? ignoreIndex) =>
        inPrediction && label == ignoreIndex
            ? $"label {label} outside [0, {numClasses}) (the ignore index applies to ground truth only)"
            : $"label {label} outside [0, {numClasses})"
              + (!inPrediction && ignoreIndex is int ig ? $" and not the ignore index {ig}" : "");
}
