namespace Emu.Migration.VmState;

/// <summary>The "globalstate" section on the wire: the run state name as a NUL-terminated string in a 100-byte buffer.</summary>
public sealed record GlobalStateRecord
{
    public uint Size { get; init; }

    public byte[] RunState { get; init; } = new byte[GlobalState.RunStateBufferLength];
}
