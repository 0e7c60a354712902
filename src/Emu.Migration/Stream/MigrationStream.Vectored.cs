using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Emu.Migration.Stream;

/// <summary>
/// Zero-copy writing (QEMU qemu_put_buffer_async + writev): a RAM page is not copied into the buffer but queued as
/// a pointer into guest memory between the buffered headers, and one writev hands headers and pages to the socket.
/// Copying every page into the buffer was, after the socket itself, the largest cost of the final pass (about
/// 190 ms per GiB in a trace).
/// </summary>
/// <remarks>
/// The queued memory is read when the buffer is flushed, not when it is queued; the caller makes sure that is
/// harmless (a page whose dirty bit is cleared before queueing may only change by being dirtied again, and is then
/// sent again, as with QEMU). Streams that are not sockets copy the queued pieces through the inner stream.
/// </remarks>
public sealed unsafe partial class MigrationStream
{
    /// <summary>Pieces per writev (Linux IOV_MAX is 1024): 512 pages with their headers, 2 MiB.</summary>
    private const int MaxPieces = 1024;

    private const int Eintr = 4, Eagain = 11;
    private const short PollOut = 0x4, PollErr = 0x8, PollHup = 0x10;

    private IoVec[]? _pieces;
    private int _pieceCount;

    /// <summary>Where the buffered bytes not yet described by a piece begin.</summary>
    private int _bufferedFrom;

    /// <summary>Bytes queued by <see cref="WriteExternal"/> and not yet written.</summary>
    private long _external;

    /// <summary>
    /// Queues <paramref name="length"/> bytes at <paramref name="data"/> to be written in order after what is
    /// buffered, without copying them; the memory must stay mapped until the next flush.
    /// </summary>
    public void WriteExternal(byte* data, int length)
    {
        CheckError();
        if (!_writing)
        {
            throw new InvalidOperationException("stream: WriteExternal on a reading stream");
        }

        _pieces ??= new IoVec[MaxPieces];

        // Room for the buffered bytes before it, this piece, and the buffered bytes the flush adds after it.
        if (_pieceCount + 3 > MaxPieces)
        {
            FlushBuffer();
        }

        AddBufferedPiece();
        _pieces[_pieceCount++] = new IoVec { Base = (nint)data, Length = (nuint)length };
        _external += length;
        _rateLimitUsed += length;
    }

    /// <summary>The buffered bytes since the last piece become a piece of their own.</summary>
    private void AddBufferedPiece()
    {
        if (_pos > _bufferedFrom)
        {
            fixed (byte* b = _buffer)
            {
                // The buffer is pinned (allocated on the pinned object heap), so the pointer stays valid.
                _pieces![_pieceCount++] = new IoVec { Base = (nint)(b + _bufferedFrom), Length = (nuint)(_pos - _bufferedFrom) };
            }

            _bufferedFrom = _pos;
        }
    }

    /// <summary>Writes the queued pieces in order: writev on a socket, piece by piece otherwise.</summary>
    private void WritePieces()
    {
        AddBufferedPiece();
        if (_inner is NetworkStream { Socket: { } socket })
        {
            WriteV(socket, _pieces!, _pieceCount);
        }
        else
        {
            for (int i = 0; i < _pieceCount; i++)
            {
                _inner.Write(new ReadOnlySpan<byte>((void*)_pieces![i].Base, (int)_pieces[i].Length));
            }
        }

        _base += _pos + _external;
        _pos = 0;
        _bufferedFrom = 0;
        _external = 0;
        _pieceCount = 0;
    }

    /// <summary>writev until every piece is out, waiting with poll when the socket is non-blocking and full.</summary>
    private static void WriteV(Socket socket, IoVec[] pieces, int count)
    {
        SafeSocketHandle handle = socket.SafeHandle;
        bool added = false;
        try
        {
            // Holds the descriptor open (no reuse of its number) while writev runs; Close shuts the socket down
            // first, so a blocked writev or poll returns.
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            fixed (IoVec* iov = pieces)
            {
                int first = 0;
                while (first < count)
                {
                    nint n = writev(fd, iov + first, count - first);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == Eintr)
                        {
                            continue;
                        }

                        if (errno == Eagain)
                        {
                            WaitWritable(fd);
                            continue;
                        }

                        throw new IOException($"writev failed (errno {errno})");
                    }

                    while (n > 0)
                    {
                        if ((nuint)n >= iov[first].Length)
                        {
                            n -= (nint)iov[first].Length;
                            first++;
                        }
                        else
                        {
                            iov[first].Base += n;
                            iov[first].Length -= (nuint)n;
                            n = 0;
                        }
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static void WaitWritable(int fd)
    {
        var p = new PollFd { Fd = fd, Events = PollOut };
        while (true)
        {
            int r = poll(&p, 1, -1);
            if (r < 0 && Marshal.GetLastPInvokeError() == Eintr)
            {
                continue;
            }

            if (r < 0 || (p.Revents & (PollErr | PollHup)) != 0)
            {
                throw new IOException("socket closed or failed while waiting to write");
            }

            return;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint writev(int fd, IoVec* iov, int iovcnt);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int poll(PollFd* fds, nuint nfds, int timeout);

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public nint Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
