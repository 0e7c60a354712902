namespace Emu.Configuration;

/// <summary>An invalid option or setting: the message names it; <c>emu</c> prints it and exits with code 2.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
