using System.CommandLine;
using System.CommandLine.Parsing;
using System.Numerics;

namespace PixelBox.Cli.Shared;

/// <summary>
/// Bounds on option values, checked while parsing so a bad value is one line naming the option. A value
/// that does not even parse is left to System.CommandLine's own conversion error (reading it here would throw).
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
