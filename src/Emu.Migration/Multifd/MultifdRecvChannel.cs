using System.Text;
using Emu.Machine.Memory;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;

namespace Emu.Migration.Multifd;

/// <summary>
/// One multifd connection of the destination and its thread ("mig/dst/recv_N", QEMU multifd_recv_thread): reads
/// packets, checks each against the local RAM blocks before a byte is written, places the pages (raw, straight
/// from the socket buffer into guest memory, or through its decompressor), and at a packet with
/// <see cref="MultifdFlags.Sync"/> waits until the main channel's MULTIFD_FLUSH releases it. A refused packet
/// fails the incoming migration with one line; the guest never starts.
/// </summary>
/// <remarks>Allocation-free per packet: the offsets, the block names and the decompressor are per channel.</remarks>
internal sealed class MultifdRecvChannel
{
    private readonly MultifdReceiver _owner;
    private readonly MigrationConnection _connection;
    private readonly MigrationStream _in;
    private readonly MultifdCompression _compression;
    private readonly MultifdPageDecompressor? _decompressor;
    private readonly ulong[] _offsets = new ulong[MultifdPacketHeader.PageSlots];
    private Thread? _thread;

    public MultifdRecvChannel(MultifdReceiver owner, int id, MigrationConnection connection, MigrationStream input, MultifdCompression compression)
    {
        _owner = owner;
        Id = id;
        _connection = connection;
        _in = input;
        _compression = compression;
        _decompressor = compression == MultifdCompression.None ? null : new MultifdPageDecompressor(compression, id);
    }

    public int Id { get; }

    /// <summary>Guarded by the receiver's lock: this channel waits at a sync point.</summary>
    public bool AtSync { get; set; }

    /// <summary>Guarded by the receiver's lock: the source closed the connection between two packets.</summary>
    public bool Ended { get; set; }

    /// <summary>Pages this channel placed.</summary>
    public long PagesPlaced { get; private set; }

    public void Start()
    {
        _thread = new Thread(Run) { Name = $"mig/dst/recv_{Id}", IsBackground = true };
        _thread.Start();
    }

    public void Close()
    {
        _in.Close();
        _connection.Close();
    }

    private void Run()
    {
        try
        {
            // A connection that ends between two packets is the source closing it; mid-packet it is a failure.
            while (_in.PeekU8() >= 0)
            {
                if (ReceivePacket() && !_owner.WaitAtSync(this))
                {
                    return;
                }
            }

            _owner.ChannelEnded(this);
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            _owner.ChannelFailed(this, e.Message);
        }
        catch (Exception e)
        {
            // The thread boundary: a bug must cost the migration, not the process.
            _owner.ChannelFailed(this, $"multifd: channel {Id}: internal error: {e.Message}", e);
        }
        finally
        {
            _decompressor?.Dispose();
        }
    }

    /// <summary>QEMU multifd_recv_unfill_packet + recv_pages: one packet; true if it ends at a sync point.</summary>
    private bool ReceivePacket()
    {
        ReadOnlySpan<byte> packet = _in.ReadSpan(MultifdPacketHeader.Size);
        MultifdPacketHeader header = MultifdPacketHeader.Read(packet, Id, _compression);
        int count = (int)header.NormalPages;
        ulong num = header.PacketNum;
        RamBlock? block = null;
        if (count > 0)
        {
            block = _owner.FindBlock(header.IdStr(packet));
            if (block == null)
            {
                throw MultifdPacketHeader.Refuse(Id, $"packet {num}: unknown ram block '{Encoding.ASCII.GetString(header.IdStr(packet))}'");
            }

            // The header lives in the stream's buffer until the next read: take the offsets out first.
            ulong max = block.SizeBytes - RamBlock.PageSize;
            for (int i = 0; i < count; i++)
            {
                ulong offset = MultifdPacketHeader.Offset(packet, i);
                if (offset > max || (offset & (RamBlock.PageSize - 1)) != 0)
                {
                    throw MultifdPacketHeader.Refuse(Id, $"packet {num}: offset 0x{offset:x} in '{block.IdStr}' is not a page of its 0x{block.SizeBytes:x} bytes");
                }

                _offsets[i] = offset;
            }

            RamLoader loader = _owner.Loader;
            bool raw = _decompressor == null || (header.Flags & MultifdFlags.Uncompressed) != 0;
            if (raw)
            {
                for (int i = 0; i < count; i++)
                {
                    PageCopy.Streaming(_in.ReadSpan(RamBlock.PageSize), block.Page((int)(_offsets[i] >> RamBlock.PageShift)));
                }

                // The sender started a new compression stream after these raw pages.
                _decompressor?.Restart();
            }
            else
            {
                _decompressor!.Feed(_in.ReadSpan((int)header.NextPacketSize), num);
                for (int i = 0; i < count; i++)
                {
                    _decompressor.ReadPage(block.Page((int)(_offsets[i] >> RamBlock.PageShift)), num);
                }
            }

            for (int i = 0; i < count; i++)
            {
                loader.MultifdPagePlaced(block, (int)(_offsets[i] >> RamBlock.PageShift));
            }

            PagesPlaced += count;
        }

        // Streaming stores are weakly ordered: they must be visible before the sync tells the main thread the
        // pages are in (and so before the guest can start).
        PageCopy.Fence();
        return (header.Flags & MultifdFlags.Sync) != 0;
    }
}
