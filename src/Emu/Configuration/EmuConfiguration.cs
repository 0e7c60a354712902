using Microsoft.Extensions.Configuration;

namespace Emu.Configuration;

/// <summary>Builds <see cref="EmuOptions"/>: defaults &lt; emu.json &lt; EMU_* environment &lt; command line.</summary>
public static class EmuConfiguration
{
    public static EmuOptions Load(IReadOnlyList<string> args, string? jsonDirectory = null)
    {
        Dictionary<string, string?> cli = CommandLine.Parse(args);
        IConfigurationRoot root = new ConfigurationBuilder()
            .SetBasePath(jsonDirectory ?? Directory.GetCurrentDirectory())
            .AddJsonFile("emu.json", optional: true)
            .AddEnvironmentVariables("EMU_")
            .AddInMemoryCollection(cli)
            .Build();

        var options = new EmuOptions();
        try
        {
            root.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigurationException($"emu: bad setting: {e.Message}");
        }

        CommandLine.Validate(options);
        return options;
    }
}
