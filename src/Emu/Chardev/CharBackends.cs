using Emu.Configuration;
using Emu.Machine.Devices;

namespace Emu.Chardev;

/// <summary>QEMU's chardev specs for -serial and -debugcon: stdio, file:PATH, none.</summary>
public static class CharBackends
{
    public static ICharBackend? Open(string spec, string option) => spec switch
    {
        "none" => null,
        "stdio" => new StreamBackend(Console.OpenStandardOutput(), ownsStream: false),
        _ when spec.StartsWith("file:", StringComparison.Ordinal) => OpenFile(spec[5..], option),
        _ => throw new ConfigurationException($"emu: option '{option}': '{spec}' is not stdio, file:PATH or none"),
    };

    private static StreamBackend OpenFile(string path, string option)
    {
        try
        {
            return new StreamBackend(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite), ownsStream: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"emu: option '{option}': cannot open '{path}': {e.Message}");
        }
    }
}

/// <summary>
/// A chardev that writes through to a stream and flushes at once, so a test or a person reading the file sees
/// each byte as the guest sends it.
/// </summary>
public sealed class StreamBackend(Stream stream, bool ownsStream) : ICharBackend, IDisposable
{
    private readonly object _lock = new();

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            stream.Write(data);
            stream.Flush();
        }
    }

    public void Dispose()
    {
        if (ownsStream)
        {
            stream.Dispose();
        }
    }
}
