using IoStream = System.IO.Stream;

namespace Emu.Migration.Multifd;

/// <summary>
/// What a channel's decompression stream reads: the compressed bytes of the packets received so far, in order.
/// A decompressor may leave the last few bytes of a packet (its sync marker) unread until it needs them for the
/// next one, so a new packet is appended after whatever is left, never put in its place. At the end of the bytes
/// it returns 0, which a decompressor that still wants input reports as the end of the stream: corrupt data.
/// </summary>
internal sealed class PacketInputBuffer : IoStream
{
    private readonly byte[] _buffer;
    private int _start;
    private int _end;

    public PacketInputBuffer(int capacity) => _buffer = GC.AllocateArray<byte>(capacity, pinned: true);

    /// <summary>Bytes not read yet.</summary>
    public int Unread => _end - _start;

    /// <summary>Appends the next packet's bytes; false if they do not fit beside what is left unread.</summary>
    public bool TryAppend(ReadOnlySpan<byte> packet)
    {
        if (packet.Length > _buffer.Length - Unread)
        {
            return false;
        }

        if (_start > 0)
        {
            _buffer.AsSpan(_start, Unread).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        packet.CopyTo(_buffer.AsSpan(_end));
        _end += packet.Length;
        return true;
    }

    /// <summary>Forgets every byte (the compression stream restarts).</summary>
    public void Clear() => _start = _end = 0;

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(buffer.Length, Unread);
        _buffer.AsSpan(_start, n).CopyTo(buffer);
        _start += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
        // Read-only.
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
