using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Emu.Machine.State;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Stream;

/// <summary>
/// QEMU's QEMUFile: a buffered big-endian writer or reader over a .NET <see cref="IoStream"/> (a socket or a
/// file). Device state writes straight into it (<see cref="IStateWriter"/>/<see cref="IStateReader"/>); RAM pages
/// are copied once into the buffer with <see cref="GetSpan"/>/<see cref="Advance"/>.
/// </summary>
/// <remarks>
/// Errors latch: the first failure is kept in <see cref="Error"/> and every later call throws at once, as
/// qemu_file_get_error makes every later QEMUFile call a no-op. The rate limit (qemu_file_rate_limit) counts the
/// bytes written since <see cref="ResetRateLimit"/>; the migration thread resets it every BUFFER_DELAY window.
/// One instance is one direction; <see cref="Close"/> may be called from another thread (cancel) to make a
/// blocked write or read fail.
/// </remarks>
public sealed partial class MigrationStream : IStateWriter, IStateReader, IDisposable
{
    /// <summary>
    /// Buffer size: 1 MiB, so one socket write or read carries about 250 page records and the per-syscall cost
    /// disappears next to the copying (QEMU's IO_BUF_SIZE is 32 KiB, but it also writes pages straight from guest
    /// memory with writev).
    /// </summary>
    public const int BufferSize = 1024 * 1024;

    /// <summary>
    /// The buffer of a stream that carries a few records, not a migration's pages: postcopy's package and the preempt
    /// channel, both opened inside the guest's pause, where two 1 MiB pinned buffers per side set off a GC (measured:
    /// 10–20 ms of the destination's CPU between LISTEN and RUN with postcopy-preempt).
    /// </summary>
    public const int RecordBufferSize = 64 * 1024;

    private readonly IoStream _inner;
    // Pinned: queued writes (MigrationStream.Vectored) hand pointers into it to writev.
    private readonly byte[] _buffer;
    private readonly bool _writing;

    /// <summary>Writer: bytes buffered. Reader: the next byte to consume.</summary>
    private int _pos;

    /// <summary>Reader: bytes valid in the buffer.</summary>
    private int _len;

    /// <summary>Writer: bytes handed to the inner stream. Reader: stream offset of _buffer[0].</summary>
    private long _base;

    private Exception? _error;
    private long _rateLimitUsed;
    private long _rateLimitMax;
    private int _closed;

    private MigrationStream(IoStream inner, bool writing, int bufferBytes)
    {
        _inner = inner;
        _writing = writing;
        _buffer = GC.AllocateArray<byte>(bufferBytes, pinned: true);
    }

    /// <summary>A writer with a buffer of <paramref name="bufferBytes"/> (the largest span a caller may ask for).</summary>
    public static MigrationStream ForWriting(IoStream inner, int bufferBytes = BufferSize) => new(inner, writing: true, bufferBytes);

    /// <summary>A reader with a buffer of <paramref name="bufferBytes"/> (the largest span a caller may ask for).</summary>
    public static MigrationStream ForReading(IoStream inner, int bufferBytes = BufferSize) => new(inner, writing: false, bufferBytes);

    /// <summary>Bytes written (including buffered ones) or consumed so far: QEMU qemu_file_transferred.</summary>
    public long Position => _base + _pos + _external;

    /// <summary>
    /// Bytes that have left this host: handed to the channel, less what a socket still holds for its peer
    /// (<see cref="Transport.SocketSendQueue"/>; a file takes everything at once). Rates (mbps, the bandwidth behind
    /// the switchover threshold) count these, not <see cref="Position"/>, which also counts the megabytes waiting in
    /// this buffer and the kernel's. Writer side, read on the writing thread.
    /// </summary>
    public long BytesSent =>
        _inner is System.Net.Sockets.NetworkStream { Socket: { } socket } ? Math.Max(0, _base - Transport.SocketSendQueue.UnsentBytes(socket)) : _base;

    /// <summary>The first error, or null. Latched: every call after it throws.</summary>
    public Exception? Error => Volatile.Read(ref _error);

    public bool HasError => Error != null;

    /// <summary>Bytes allowed per rate-limit window; 0 means unlimited (QEMU RATE_LIMIT_DISABLED).</summary>
    public long RateLimitMax
    {
        get => Volatile.Read(ref _rateLimitMax);
        set => Volatile.Write(ref _rateLimitMax, Math.Max(0, value));
    }

    /// <summary>Bytes written since the window began.</summary>
    public long RateLimitUsed => _rateLimitUsed;

    /// <summary>QEMU qemu_file_rate_limit / migration_rate_exceeded: the window's budget is spent.</summary>
    public bool RateLimitExceeded
    {
        get
        {
            long max = RateLimitMax;
            return max != 0 && _rateLimitUsed > max;
        }
    }

    public void ResetRateLimit() => _rateLimitUsed = 0;

    /// <summary>Charges bytes sent on other channels (multifd's) to this window (QEMU qemu_file_acct_rate_limit).</summary>
    public void AccountRateLimit(long bytes) => _rateLimitUsed += bytes;

    /// <summary>Latches <paramref name="error"/> unless an earlier one is kept (QEMU qemu_file_set_error).</summary>
    public void SetError(Exception error) => Interlocked.CompareExchange(ref _error, error, null);

    /// <summary>
    /// Closes the inner stream, from any thread: a blocked socket write or read fails at once (QEMU shuts the
    /// file down on cancel). Later calls fail with the latched error.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            SetError(new MigrationStreamException("stream: closed"));
            try
            {
                if (_inner is System.Net.Sockets.NetworkStream { Socket: { } socket })
                {
                    // Wakes a writer blocked in writev or poll on this socket (Dispose alone may wait for it).
                    socket.Shutdown(System.Net.Sockets.SocketShutdown.Both);
                }

                _inner.Dispose();
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                // Closing a broken socket may report the break again; the stream is closed either way.
            }
        }
    }

    public void Dispose() => Close();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckError()
    {
        if (_error != null)
        {
            ThrowLatched();
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowLatched()
    {
        Exception e = _error!;
        throw e as MigrationStreamException ?? new MigrationStreamException($"stream: {e.Message}", e);
    }

    [DoesNotReturn]
    private void Fail(string message, Exception? inner = null)
    {
        var e = new MigrationStreamException(message, inner);
        SetError(e);
        ThrowLatched();
    }

    // ---- writing -------------------------------------------------------------------------------------------

    public void WriteU8(byte value) => Reserve(1)[0] = value;

    public void WriteU16(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Reserve(2), value);

    public void WriteU32(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);

    public void WriteU64(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);

    public void WriteBytes(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int n = Math.Min(data.Length, _buffer.Length);
            data[..n].CopyTo(GetSpan(n));
            Advance(n);
            data = data[n..];
        }
    }

    /// <summary>A span of <paramref name="length"/> bytes (at most the buffer's size) to fill, then <see cref="Advance"/>.</summary>
    public Span<byte> GetSpan(int length)
    {
        CheckError();
        if (!_writing)
        {
            throw new InvalidOperationException("stream: GetSpan on a reading stream");
        }

        if ((uint)length > (uint)_buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        if (_pos + length > _buffer.Length)
        {
            FlushBuffer();
        }

        return _buffer.AsSpan(_pos, length);
    }

    public void Advance(int length)
    {
        _pos += length;
        _rateLimitUsed += length;
    }

    private Span<byte> Reserve(int length)
    {
        Span<byte> s = GetSpan(length);
        Advance(length);
        return s;
    }

    /// <summary>Writes the buffered bytes to the inner stream and flushes it (QEMU qemu_fflush).</summary>
    public void Flush()
    {
        CheckError();
        FlushBuffer();
        try
        {
            _inner.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Fail($"stream: flush failed at offset 0x{Position:x}: {e.Message}", e);
        }
    }

    private void FlushBuffer()
    {
        if (_pos == 0 && _pieceCount == 0)
        {
            return;
        }

        try
        {
            if (_pieceCount > 0)
            {
                WritePieces();
            }
            else
            {
                _inner.Write(_buffer, 0, _pos);
                _base += _pos;
                _pos = 0;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Fail($"stream: write failed at offset 0x{_base:x}: {e.Message}", e);
        }
    }
}
