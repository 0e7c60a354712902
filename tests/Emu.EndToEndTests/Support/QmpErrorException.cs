namespace Emu.EndToEndTests.Support;

/// <summary>A QMP <c>error</c> reply: QEMU's error class and description, and the command that got it.</summary>
public sealed class QmpErrorException(string command, string errorClass, string desc)
    : Exception($"qmp: {command} failed: {errorClass}: {desc}")
{
    public string Command { get; } = command;

    public string ErrorClass { get; } = errorClass;

    public string Desc { get; } = desc;
}
