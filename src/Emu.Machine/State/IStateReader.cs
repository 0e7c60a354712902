namespace Emu.Machine.State;

/// <summary>A big-endian byte source for device state. Running short throws with the position.</summary>
public interface IStateReader
{
    /// <summary>Bytes consumed so far, for error messages.</summary>
    long Position { get; }

    byte ReadU8();

    ushort ReadU16();

    uint ReadU32();

    ulong ReadU64();

    void ReadBytes(Span<byte> into);

    /// <summary>The next byte without consuming it, or -1 at the end.</summary>
    int PeekU8();
}
