namespace PixelBox;

/// <summary>
/// Bad user input (a file that is missing, malformed or inconsistent). The message is one line that
/// names the file and the problem; the CLI prints it as is and exits non-zero, without a stack trace.
/// </summary>
public sealed class InputException : Exception
{
    public InputException(string message) : base(message) { }

    public InputException(string file, string problem) : base($"{file}: {problem}") { }

    public InputException(string file, string problem, Exception inner) : base($"{file}: {problem}", inner) { }
}
