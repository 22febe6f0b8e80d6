using System.CommandLine;
using System.CommandLine.Parsing;
using System.Numerics;

namespace PixelBox.Cli.Shared;

/// <summary>
/// Bounds and choices for option values, checked while parsing so a bad value is one line naming the
/// option (exit 2) before any work starts. A value that does not even parse is left to System.CommandLine's
/// own conversion error (reading it here would throw).
/// </summary>
static class OptionRules
{
    /// <summary>Accepts values in [<paramref name="min"/>, <paramref name="max"/>] only.</summary>
    public static Option<T> InRange<T>(this Option<T> option, T min, T max) where T : struct, INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out T value) && (value < min || value > max || T.IsNaN(value)))
                result.AddError($"must be between {min} and {max} (got {value})");
        });
        return option;
    }

    /// <summary>Accepts null (not given) or values in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<T?> InRange<T>(this Option<T?> option, T min, T max) where T : struct, INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out T? value) && value is { } v && (v < min || v > max || T.IsNaN(v)))
                result.AddError($"must be between {min} and {max} (got {v})");
        });
        return option;
    }

    /// <summary>Accepts values in (0, <paramref name="max"/>]: a rate or a scale, where 0 means nothing.</summary>
    public static Option<double> Positive(this Option<double> option, double max)
    {
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out double value) && !(value > 0 && value <= max))
                result.AddError($"must be greater than 0 and at most {max} (got {value})");
        });
        return option;
    }

    /// <summary>Accepts only the listed names (exactly as written); help shows them as the value's choices.</summary>
    public static Option<string> OneOf(this Option<string> option, IReadOnlyList<string> names)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && result.Tokens[^1].Value is var token && !names.Contains(token))
                result.AddError($"'{token}' is not one of {string.Join(", ", names)}");
        });
        return option;
    }

    /// <summary>
    /// An option whose values are <typeparamref name="T"/>'s names in lower case (accepted in any case, never as
    /// numbers). Help shows the names as the value's choices and the default once, in lower case; not given,
    /// the option's value is null and <see cref="ValueOr{T}"/> supplies the default.
    /// </summary>
    public static Option<T?> Choice<T>(string name, string description, T defaultValue) where T : struct, Enum
    {
        var names = Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        return new Option<T?>(name)
        {
            Description = $"{description} [default: {defaultValue.ToString().ToLowerInvariant()}]",
            HelpName = string.Join('|', names),
            CustomParser = result =>
            {
                var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                foreach (var value in Enum.GetValues<T>())
                    if (string.Equals(value.ToString(), token, StringComparison.OrdinalIgnoreCase))
                        return value;
                result.AddError($"'{token}' is not one of {string.Join(", ", names)}");
                return null;
            },
        };
    }

    /// <summary>The value given for <paramref name="option"/>, or <paramref name="defaultValue"/> when it was not given.</summary>
    public static T ValueOr<T>(this ParseResult parse, Option<T?> option, T defaultValue) where T : struct =>
        parse.GetValue(option) ?? defaultValue;

    /// <summary>Whether the user wrote <paramref name="option"/> on the command line (a default value does not count).</summary>
    public static bool WasGiven(this ParseResult parse, Option option) =>
        parse.GetResult(option) is { Implicit: false };

    static bool TryGetValue<T>(OptionResult result, out T value)
    {
        value = default!;
        if (result.Tokens.Count == 0)
            return false; // a default value: ours, not the user's
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
