using Emu.Configuration;
using Emu.Machine.Devices;

namespace Emu.Chardev;

/// <summary>QEMU's chardev specs for -serial and -debugcon: stdio, file:PATH, none.</summary>
public static class CharBackends
{
    public static ICharBackend? Open(string spec, string option) => spec switch
    {
        "none" => null,
        "stdio" => new StreamBackend(Console.OpenStandardOutput(), ownsStream: false, option.TrimStart('-')),
        _ when spec.StartsWith("file:", StringComparison.Ordinal) => OpenFile(spec[5..], option),
        _ => throw new ConfigurationException($"emu: option '{option}': '{spec}' is not stdio, file:PATH or none"),
    };

    private static StreamBackend OpenFile(string path, string option)
    {
        try
        {
            return new StreamBackend(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite), ownsStream: true, option.TrimStart('-'));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"emu: option '{option}': cannot open '{path}': {e.Message}");
        }
    }
}
