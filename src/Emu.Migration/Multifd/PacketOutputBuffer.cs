using IoStream = System.IO.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// Where a channel's compression stream writes one packet's compressed pages: a fixed buffer reused for every
/// packet. Output past its capacity is counted but dropped: such a packet is sent raw instead, so the buffer never
/// grows and a compressed packet is never larger than its raw pages.
/// </summary>
internal sealed class PacketOutputBuffer : IoStream
{
    private readonly byte[] _buffer;
    private int _length;
    private bool _overflowed;

    public PacketOutputBuffer(int capacity) => _buffer = GC.AllocateArray<byte>(capacity, pinned: true);

    /// <summary>True when the packet needed more than the capacity (its compressed form is useless).</summary>
    public bool Overflowed => _overflowed;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Starts the next packet.</summary>
    public void Reset()
    {
        _length = 0;
        _overflowed = false;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_overflowed || buffer.Length > _buffer.Length - _length)
        {
            _overflowed = true;
            return;
        }

        buffer.CopyTo(_buffer.AsSpan(_length));
        _length += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
        // Nothing is buffered here: the bytes are the packet.
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
