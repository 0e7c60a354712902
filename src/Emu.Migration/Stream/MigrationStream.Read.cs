using System.Buffers.Binary;

namespace Emu.Migration.Stream;

/// <summary>The reading half of <see cref="MigrationStream"/> (qemu_get_*).</summary>
public sealed partial class MigrationStream
{
    /// <summary>Reader: bytes that can be consumed without reading (and so without blocking on) the inner stream.</summary>
    public int Buffered => _len - _pos;

    public byte ReadU8() => Take(1)[0];

    public ushort ReadU16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint ReadU32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public ulong ReadU64() => BinaryPrimitives.ReadUInt64BigEndian(Take(8));

    /// <summary>
    /// The next <paramref name="length"/> bytes (at most the buffer's size) in the stream's own buffer, to be
    /// used before the next read: a page is copied once, straight from here into guest memory.
    /// </summary>
    public ReadOnlySpan<byte> ReadSpan(int length)
    {
        if ((uint)length > (uint)_buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        return Take(length);
    }

    public void ReadBytes(Span<byte> into)
    {
        while (into.Length > 0)
        {
            int n = Math.Min(into.Length, _buffer.Length);
            Take(n).CopyTo(into);
            into = into[n..];
        }
    }

    /// <summary>Consumes <paramref name="length"/> bytes without keeping them (a vmdesc the destination does not need).</summary>
    public void Skip(long length)
    {
        while (length > 0)
        {
            int n = (int)Math.Min(length, _buffer.Length);
            Take(n);
            length -= n;
        }
    }

    public int PeekU8()
    {
        CheckError();
        if (_pos == _len && !Fill(1, mayEnd: true))
        {
            return -1;
        }

        return _buffer[_pos];
    }

    private ReadOnlySpan<byte> Take(int length)
    {
        CheckError();
        if (_len - _pos < length)
        {
            Fill(length, mayEnd: false);
        }

        ReadOnlySpan<byte> s = _buffer.AsSpan(_pos, length);
        _pos += length;
        return s;
    }

    /// <summary>Makes at least <paramref name="length"/> bytes available; false only at a clean end when allowed.</summary>
    private bool Fill(int length, bool mayEnd)
    {
        if (_writing)
        {
            throw new InvalidOperationException("stream: read on a writing stream");
        }

        if (_pos > 0)
        {
            int keep = _len - _pos;
            Buffer.BlockCopy(_buffer, _pos, _buffer, 0, keep);
            _base += _pos;
            _pos = 0;
            _len = keep;
        }

        while (_len < length)
        {
            int got;
            try
            {
                got = _inner.Read(_buffer, _len, _buffer.Length - _len);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
            {
                Fail($"stream: read failed at offset 0x{Position + _len:x}: {e.Message}", e);
                return false;
            }

            if (got == 0)
            {
                if (mayEnd && _len == 0)
                {
                    return false;
                }

                Fail($"stream: unexpected end of stream at offset 0x{Position + _len:x}, needed {length - _len} more bytes");
            }

            _len += got;
        }

        return true;
    }
}
