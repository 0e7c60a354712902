using System.Buffers.Binary;

namespace Emu.Machine.State;

/// <summary>An <see cref="IStateWriter"/> into a growable buffer.</summary>
public sealed class ByteStateWriter : IStateWriter
{
    private byte[] _buffer = new byte[256];

    public int Length { get; private set; }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, Length);

    public byte[] ToArray() => WrittenSpan.ToArray();

    public void WriteU8(byte value) => Take(1)[0] = value;

    public void WriteU16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteU32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void WriteU64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Take(8), value);

    public void WriteBytes(ReadOnlySpan<byte> data) => data.CopyTo(Take(data.Length));

    private Span<byte> Take(int n)
    {
        if (Length + n > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, Length + n));
        }

        Span<byte> s = _buffer.AsSpan(Length, n);
        Length += n;
        return s;
    }
}
