using System.Text;

namespace Emu.Migration.Stream;

/// <summary>
/// Text that arrives from the wire (section names, RAMBlock ids, run states), made safe to put in a log or an
/// error line: printable ASCII kept, anything else (control bytes, escapes, newlines, non-ASCII) as \xNN, and
/// cut at <see cref="MaxChars"/>. No name Emu knows needs escaping or is that long, so matching is unchanged.
/// </summary>
public static class WireText
{
    public const int MaxChars = 64;

    public static string Printable(ReadOnlySpan<byte> bytes)
    {
        var b = new StringBuilder(Math.Min(bytes.Length, MaxChars) + 8);
        foreach (byte c in bytes)
        {
            if (b.Length >= MaxChars)
            {
                b.Append($"…({bytes.Length} bytes)");
                break;
            }

            if (c is >= 0x20 and < 0x7F && c != '\\')
            {
                b.Append((char)c);
            }
            else
            {
                b.Append($"\\x{c:x2}");
            }
        }

        return b.ToString();
    }
}
