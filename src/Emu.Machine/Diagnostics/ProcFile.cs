using System.Globalization;

namespace Emu.Machine.Diagnostics;

/// <summary>
/// The "Key:   value kB" lines of Linux's <c>/proc/meminfo</c> and <c>/proc/PID/status</c>, for the few figures Emu
/// and its tests read from the host (available memory, a process's resident set).
/// </summary>
public static class ProcFile
{
    /// <summary>
    /// The value of <paramref name="key"/> (without the colon) in <paramref name="path"/>, in KiB; null when the file
    /// cannot be read (no /proc, a process that has ended) or has no such line.
    /// </summary>
    public static ulong? ReadKiB(string path, string key)
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.Length > key.Length && line[key.Length] == ':' && line.StartsWith(key, StringComparison.Ordinal))
                {
                    string value = line[(key.Length + 1)..].Trim().Split(' ')[0];
                    return ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out ulong kib) ? kib : null;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // No such file any more, or not ours to read: nothing to go by.
        }

        return null;
    }
}
