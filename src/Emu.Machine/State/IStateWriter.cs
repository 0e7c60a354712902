namespace Emu.Machine.State;

/// <summary>A big-endian byte sink for device state (a migration stream, or a buffer in tests).</summary>
public interface IStateWriter
{
    void WriteU8(byte value);

    void WriteU16(ushort value);

    void WriteU32(uint value);

    void WriteU64(ulong value);

    void WriteBytes(ReadOnlySpan<byte> data);
}
