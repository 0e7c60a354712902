using Emu.Machine.Memory;
using Emu.Migration.Stream;
using IoStream = System.IO.Stream;

namespace Emu.Migration.Postcopy;

/// <summary>
/// The destination's writing end of the return path (QEMU mis->to_src_file with rp_mutex): PONG, SHUT,
/// REQ_PAGES(_ID), RECV_BITMAP and RESUME_ACK from the load, listen and fault threads, one message at a time,
/// each flushed at once. After a network failure it is closed and sends fail (QEMU returns -EIO) until a
/// recovery opens it on the new channel.
/// </summary>
public sealed class DestinationReturnPath
{
    private readonly object _lock = new();
    private MigrationStream? _out;

    public bool IsOpen
    {
        get
        {
            lock (_lock)
            {
                return _out != null;
            }
        }
    }

    /// <summary>QEMU qemu_file_get_return_path: the reverse direction of the incoming channel.</summary>
    public void Open(IoStream channel)
    {
        lock (_lock)
        {
            _out = MigrationStream.ForWriting(channel);
        }
    }

    /// <summary>Forgets the channel (it is closed by its owner); later sends fail.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _out = null;
        }
    }

    /// <summary>QEMU migrate_send_rp_message: false if the path is closed or the write fails (then it is closed).</summary>
    public bool TrySend(ReturnPathMessage message)
    {
        lock (_lock)
        {
            if (_out == null)
            {
                return false;
            }

            try
            {
                message.Write(_out);
                _out.Flush();
                return true;
            }
            catch (MigrationStreamException)
            {
                _out = null;
                return false;
            }
        }
    }

    /// <summary>
    /// Several REQ_PAGES in one flush (the fault thread's batch); false if the path is closed or fails.
    /// </summary>
    public bool TrySendBatch(ReadOnlySpan<ReturnPathMessage> messages)
    {
        lock (_lock)
        {
            if (_out == null)
            {
                return false;
            }

            try
            {
                foreach (ReturnPathMessage m in messages)
                {
                    m.Write(_out);
                }

                _out.Flush();
                return true;
            }
            catch (MigrationStreamException)
            {
                _out = null;
                return false;
            }
        }
    }

    /// <summary>
    /// QEMU migrate_send_rp_recv_bitmap: the RECV_BITMAP header then the bitmap (ramblock_recv_bitmap_send) as one
    /// write, so no other message lands between them.
    /// </summary>
    public bool TrySendRecvBitmap(RamBlock block)
    {
        lock (_lock)
        {
            if (_out == null)
            {
                return false;
            }

            try
            {
                ReturnPathMessage.RecvBitmap(block.IdStr).Write(_out);
                ulong[] words = block.Received?.Snapshot() ?? AllReceived(block.PageCount);
                ReceivedBitmapFormat.Write(_out, words, block.PageCount);
                _out.Flush();
                return true;
            }
            catch (MigrationStreamException)
            {
                _out = null;
                return false;
            }
        }
    }

    private static ulong[] AllReceived(int pageCount)
    {
        var w = new ulong[(pageCount + 63) / 64];
        Array.Fill(w, ulong.MaxValue);
        return w;
    }
}
