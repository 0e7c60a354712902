using System.Buffers.Binary;

namespace Emu.Machine.State;

/// <summary>An <see cref="IStateReader"/> over a byte array.</summary>
public sealed class ByteStateReader(ReadOnlyMemory<byte> data) : IStateReader
{
    private int _pos;

    public long Position => _pos;

    public int Remaining => data.Length - _pos;

    public byte ReadU8() => Take(1)[0];

    public ushort ReadU16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint ReadU32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong ReadU64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    public void ReadBytes(Span<byte> into) => Take(into.Length).CopyTo(into);

    public int PeekU8() => _pos < data.Length ? data.Span[_pos] : -1;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n > data.Length - _pos)
        {
            throw new VmStateException($"state: needed {n} bytes at offset 0x{_pos:x}, only {data.Length - _pos} left");
        }

        ReadOnlySpan<byte> s = data.Span.Slice(_pos, n);
        _pos += n;
        return s;
    }
}
