namespace PixelBox.Data;

/// <summary>An error makes a dataset unusable as it is (training or conversion would fail or be wrong); a warning is worth knowing but handled.</summary>
public enum IssueSeverity
{
    Warning,
    Error,
}

/// <summary>
/// One problem found in a dataset: its kind (a stable snake_case name that scripts can count on, see
/// <see cref="IssueKinds"/>), the file and a one-line description naming the record or line.
/// </summary>
public sealed record DataIssue(IssueSeverity Severity, string Kind, string File, string Problem)
{
    public override string ToString() => File.Length == 0 ? Problem : $"{File}: {Problem}";
}

/// <summary>The issue kinds that readers report, and whether each is an error.</summary>
public static class IssueKinds
{
    // errors: the data cannot be used as it is
    public const string Malformed = "malformed";                // an annotation file or line that cannot be parsed
    public const string MissingImage = "missing_image";         // an annotated image whose file is not there
    public const string BrokenImage = "broken_image";           // an image file that does not decode
    public const string SizeMismatch = "size_mismatch";         // the annotation's width/height differ from the image file's
    public const string DuplicateId = "duplicate_id";           // two images (or annotations) with one id or file name
    public const string UnknownClass = "unknown_class";         // a class index, name or category id not in the class list
    public const string UnknownImage = "unknown_image";         // an annotation or split entry naming an image that does not exist
    public const string MissingMask = "missing_mask";           // segmentation: an image whose mask file is not there
    public const string BrokenMask = "broken_mask";             // segmentation: a mask file that does not decode as an index mask
    public const string LabelOutOfRange = "label_out_of_range"; // segmentation: a mask value that is no class of the format (nor 255 = ignore)
    // warnings: handled (boxes clipped or dropped when samples are built), but worth a look
    public const string BoxOutOfBounds = "box_out_of_bounds";   // extends beyond its image by more than OutOfBoundsTolerance
    public const string DegenerateBox = "degenerate_box";       // zero or negative width or height (also after clipping to the image)
    public const string EmptyImage = "empty_image";             // an image without objects, or (segmentation) whose mask is all ignore
    public const string MissingLabels = "missing_labels";       // YOLO: an image without a label file (read as background)
    public const string OrphanLabels = "orphan_labels";         // a label/annotation file without an image in any split
    public const string UnusedClass = "unused_class";           // a class no object has
    public const string DroppedInformation = "dropped_information"; // convert: the target format cannot carry something the source has

    /// <summary>Boxes may overhang their image by this many pixels before they count as out of bounds (float noise of normalised coordinates stays far below).</summary>
    public const float OutOfBoundsTolerance = 0.01f;

    public static IssueSeverity SeverityOf(string kind) => kind switch
    {
        BoxOutOfBounds or DegenerateBox or EmptyImage or MissingLabels or OrphanLabels or UnusedClass or DroppedInformation => IssueSeverity.Warning,
        _ => IssueSeverity.Error,
    };
}

/// <summary>
/// Where readers put what they find. In strict mode (loading for training or conversion) the first error throws
/// its <see cref="InputException"/> (one line naming the file and record); in collecting mode (<c>data check</c>)
/// errors are recorded and reading goes on with the next file. Warnings are always recorded. Thread-safe.
/// </summary>
public sealed class IssueLog
{
    readonly List<DataIssue> issues = new();

    public IssueLog(bool collectErrors = false) => CollectErrors = collectErrors;

    public bool CollectErrors { get; }

    public IReadOnlyList<DataIssue> Issues
    {
        // in a fixed order, whatever the order parallel readers reported them in
        get { lock (issues) return issues.OrderBy(i => i.Kind, StringComparer.Ordinal).ThenBy(i => i.File, StringComparer.Ordinal).ThenBy(i => i.Problem, StringComparer.Ordinal).ToArray(); }
    }

    public bool HasErrors
    {
        get { lock (issues) return issues.Any(i => i.Severity == IssueSeverity.Error); }
    }

    public void Report(string kind, string file, string problem)
    {
        var severity = IssueKinds.SeverityOf(kind);
        if (severity == IssueSeverity.Error && !CollectErrors)
            throw new InputException(file, problem);
        lock (issues) issues.Add(new DataIssue(severity, kind, file, problem));
    }

    /// <summary>
    /// Runs <paramref name="read"/>, which reads <paramref name="file"/>; in collecting mode an
    /// <see cref="InputException"/> it throws becomes a <see cref="IssueKinds.Malformed"/> error and
    /// <paramref name="fallback"/> is returned, so the other files can still be checked.
    /// </summary>
    public T Guard<T>(string file, Func<T> read, T fallback)
    {
        if (!CollectErrors) return read();
        try
        {
            return read();
        }
        catch (InputException e)
        {
            // the message names the file (usually this one) and the problem: keep the two apart
            var prefix = file + ": ";
            bool named = e.Message.StartsWith(prefix, StringComparison.Ordinal);
            var problem = named ? e.Message[prefix.Length..] : e.Message;
            // the COCO readers stop at a repeated id with "...: duplicate id N"
            var kind = problem.Contains(": duplicate id ", StringComparison.Ordinal) ? IssueKinds.DuplicateId : IssueKinds.Malformed;
            lock (issues) issues.Add(new DataIssue(IssueSeverity.Error, kind, named ? file : "", problem));
            return fallback;
        }
    }
}
