using System.Text;

namespace PixelBox.Fuzz;

/// <summary>
/// Byte-level mutations in the manner of libFuzzer and AFL (bit flips, interesting values, inserts, deletes,
/// copies, splices, dictionary tokens), plus two that suit text formats: a number replaced by an extreme
/// one, and a short piece repeated many times (deep nesting, long runs).
/// </summary>
public static class Mutator
{
    static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, (byte)'0', (byte)'9', (byte)'-', (byte)'.', (byte)'e',
        (byte)'[', (byte)']', (byte)'{', (byte)'}', (byte)'"', (byte)',', (byte)':', (byte)'\\', (byte)' ', (byte)'\n'];

    static readonly string[] InterestingNumbers =
    [
        "0", "-0", "1", "-1", "2", "255", "256", "65535", "65536", "100000", "2147483647", "2147483648", "-2147483648",
        "4294967295", "4294967296", "9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "1e308", "-1e308", "1e309", "1e-400", "0.5", "1.5", "-0.0", "1E2", "100000000", "123456789012345678901234567890",
        "NaN", "Infinity", "-Infinity", "0x10", "01", "1.", ".5", "1e", "--1",
    ];

    static readonly int[] InterestingInts = [0, 1, -1, 2, 8, 13, 16, 255, 256, 0x7FFF, 0xFFFF, 0x10000, 100000, 0x7FFFFFFF, int.MinValue, 0x40000000];

    /// <summary>1 to 8 stacked mutations of <paramref name="input"/> (never longer than <paramref name="maxBytes"/>).</summary>
    public static byte[] Mutate(byte[] input, Random random, IReadOnlyList<byte[]> corpus, IReadOnlyList<byte[]> dictionary, int maxBytes)
    {
        var data = new List<byte>(input);
        int count = 1 + random.Next(8);
        for (int i = 0; i < count; i++)
            MutateOnce(data, random, corpus, dictionary);
        if (data.Count > maxBytes)
            data.RemoveRange(maxBytes, data.Count - maxBytes);
        return [.. data];
    }

    static void MutateOnce(List<byte> data, Random random, IReadOnlyList<byte[]> corpus, IReadOnlyList<byte[]> dictionary)
    {
        int n = data.Count;
        switch (random.Next(13))
        {
            case 0 when n > 0:
                data[random.Next(n)] ^= (byte)(1 << random.Next(8));
                break;
            case 1 when n > 0:
                data[random.Next(n)] = random.Next(2) == 0 ? InterestingBytes[random.Next(InterestingBytes.Length)] : (byte)random.Next(256);
                break;
            case 2:
                {
                    var bytes = new byte[1 + random.Next(8)];
                    random.NextBytes(bytes);
                    data.InsertRange(random.Next(n + 1), bytes);
                    break;
                }
            case 3 when n > 1:
                {
                    int at = random.Next(n), length = 1 + random.Next(Math.Min(n - at, 1 + random.Next(64)));
                    data.RemoveRange(at, length);
                    break;
                }
            case 4 when n > 0:
                {
                    int from = random.Next(n), length = 1 + random.Next(Math.Min(n - from, 64));
                    data.InsertRange(random.Next(n + 1), data.GetRange(from, length));
                    break;
                }
            case 5 when n > 1:
                {
                    int from = random.Next(n), to = random.Next(n), length = 1 + random.Next(Math.Min(n - Math.Max(from, to), 32));
                    var piece = data.GetRange(from, length);
                    for (int k = 0; k < length; k++)
                        data[to + k] = piece[k];
                    break;
                }
            case 6 when dictionary.Count > 0:
                {
                    var token = dictionary[random.Next(dictionary.Count)];
                    int at = random.Next(n + 1);
                    if (random.Next(2) == 0 || at + token.Length > n)
                        data.InsertRange(at, token);
                    else
                        for (int k = 0; k < token.Length; k++)
                            data[at + k] = token[k];
                    break;
                }
            case 7:
                ReplaceNumber(data, random);
                break;
            case 8 when corpus.Count > 0 && n > 0:
                {
                    var other = corpus[random.Next(corpus.Count)];
                    if (other.Length == 0)
                        break;
                    int cut = random.Next(n), from = random.Next(other.Length);
                    data.RemoveRange(cut, n - cut);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
                }
            case 9 when n >= 4:
                {
                    int at = random.Next(n - 3), value = InterestingInts[random.Next(InterestingInts.Length)];
                    var bytes = BitConverter.GetBytes(random.Next(2) == 0 ? value : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value));
                    for (int k = 0; k < 4; k++)
                        data[at + k] = bytes[k];
                    break;
                }
            case 10 when n > 0:
                {
                    int keep = random.Next(n); // truncated
                    data.RemoveRange(keep, n - keep);
                    break;
                }
            case 11 when n > 0:
                {
                    // a short piece repeated: deep nesting ("[[[["), long strings and runs
                    int from = random.Next(n), length = 1 + random.Next(Math.Min(n - from, 4));
                    var piece = data.GetRange(from, length);
                    int times = 1 << random.Next(13);
                    var repeated = new List<byte>(piece.Count * times);
                    for (int k = 0; k < times; k++)
                        repeated.AddRange(piece);
                    data.InsertRange(from, repeated);
                    break;
                }
            default:
                if (n > 0)
                    data[random.Next(n)] = (byte)random.Next(256);
                else
                    data.Add((byte)random.Next(256));
                break;
        }
    }

    /// <summary>Replaces a run of digits (with sign, point, exponent) by an extreme or malformed number.</summary>
    static void ReplaceNumber(List<byte> data, Random random)
    {
        int n = data.Count;
        if (n == 0)
            return;
        int start = random.Next(n);
        while (start < n && !IsDigit(data[start]))
            start++;
        if (start == n)
            return;
        while (start > 0 && IsNumberByte(data[start - 1]))
            start--;
        int end = start;
        while (end < n && IsNumberByte(data[end]))
            end++;
        var replacement = Encoding.ASCII.GetBytes(InterestingNumbers[random.Next(InterestingNumbers.Length)]);
        data.RemoveRange(start, end - start);
        data.InsertRange(start, replacement);
    }

    static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    static bool IsNumberByte(byte b) => IsDigit(b) || b is (byte)'-' or (byte)'+' or (byte)'.' or (byte)'e' or (byte)'E';
}
