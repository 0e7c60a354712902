using Emu.Machine.Memory;
using Emu.Migration.Stream;
using Emu.Migration.Transport;

namespace Emu.Migration.Multifd;

/// <summary>
/// One multifd connection of the source and its thread ("mig/src/send_N", QEMU multifd_send_thread): it waits for
/// a job from <see cref="MultifdSender"/> — a batch of pages, a sync, or both — and sends it as one packet, the
/// pages straight from guest memory (raw, with writev) or through its compressor.
/// </summary>
/// <remarks>
/// The job fields are guarded by the sender's lock: the migration thread sets <see cref="HasJob"/>, this thread
/// clears it when the packet is written. Allocation-free per packet.
/// </remarks>
internal sealed class MultifdSendChannel
{
    private readonly MultifdSender _owner;
    private readonly MigrationConnection _connection;
    private readonly MigrationStream _out;
    private readonly MultifdPageCompressor? _compressor;
    private readonly MultifdFlags _compressionFlags;
    private Thread? _thread;

    public MultifdSendChannel(MultifdSender owner, int id, MigrationConnection connection, MultifdCompression compression, int level)
    {
        _owner = owner;
        Id = id;
        _connection = connection;
        // A small buffer: it holds a packet's header and compressed bytes, raw pages go by writev. The default 1 MiB,
        // pinned, four times over, set off a blocking collection inside setup (7-10 ms, measured).
        _out = MigrationStream.ForWriting(connection.Stream, MigrationStream.RecordBufferSize);
        _compressionFlags = (MultifdFlags)((uint)compression << 1);
        _compressor = compression == MultifdCompression.None ? null : new MultifdPageCompressor(compression, level);
    }

    public int Id { get; }

    /// <summary>The batch to send; swapped with the migration thread's when a job is given.</summary>
    public MultifdPages Pages { get; set; } = new();

    /// <summary>A job is waiting or being sent (QEMU pending_job).</summary>
    public bool HasJob { get; set; }

    /// <summary>The job's packet carries <see cref="MultifdFlags.Sync"/> (QEMU MULTIFD_FLAG_SYNC).</summary>
    public bool SyncRequested { get; set; }

    /// <summary>Packets sent, and how many of them went raw because they did not compress.</summary>
    public long Packets { get; private set; }

    public long UncompressedPackets => _compressor?.UncompressedPackets ?? 0;

    /// <summary>QEMU multifd_send_initial_packet: done before the thread starts, so a refusal fails the setup.</summary>
    public void SendInitialPacket()
    {
        new MultifdInitPacket((byte)Id).Write(_out.GetSpan(MultifdInitPacket.Size));
        _out.Advance(MultifdInitPacket.Size);
        _out.Flush();
        _owner.AddBytes(MultifdInitPacket.Size);
    }

    public void Start()
    {
        _thread = new Thread(Run) { Name = $"mig/src/send_{Id}", IsBackground = true };
        _thread.Start();
    }

    public bool Join(TimeSpan timeout) => _thread?.Join(timeout) ?? true;

    /// <summary>Shuts the connection: a blocked write fails now (cancel, failure, end).</summary>
    public void Close()
    {
        _out.Close();
        _connection.Close();
    }

    /// <summary>After the thread has ended (or never started): frees the compression stream.</summary>
    public void DisposeCompressor() => _compressor?.Dispose();

    private void Run()
    {
        try
        {
            while (_owner.WaitForJob(this))
            {
                Send();
                _owner.JobDone(this);
            }
        }
        catch (Exception e) when (e is MigrationStreamException or IOException or ObjectDisposedException
            or System.Net.Sockets.SocketException or ZstdSharp.ZstdException)
        {
            _owner.ChannelFailed(this, e);
        }
    }

    /// <summary>QEMU multifd_send_fill_packet + the write of header and pages.</summary>
    private unsafe void Send()
    {
        MultifdPages pages = Pages;
        ReadOnlySpan<ulong> offsets = pages.Used;
        MultifdFlags flags = _compressionFlags | (SyncRequested ? MultifdFlags.Sync : MultifdFlags.None);
        RamBlock? block = offsets.Length > 0 ? _owner.Blocks[pages.Block] : null;
        ReadOnlySpan<byte> compressed = default;
        bool raw = block != null && (_compressor == null || !_compressor.TryCompress(block, offsets, out compressed));
        if (raw && _compressor != null)
        {
            flags |= MultifdFlags.Uncompressed;
        }

        uint dataBytes = raw ? (uint)(offsets.Length * RamBlock.PageSize) : (uint)compressed.Length;
        var header = new MultifdPacketHeader(flags, (uint)offsets.Length, dataBytes, _owner.NextPacketNum(), 0);
        header.Write(_out.GetSpan(MultifdPacketHeader.Size), block != null ? _owner.IdStr(pages.Block) : default, offsets);
        _out.Advance(MultifdPacketHeader.Size);
        if (raw)
        {
            foreach (ulong offset in offsets)
            {
                // Straight from guest memory at the flush below (writev), as QEMU's nocomp iovs.
                _out.WriteExternal(block!.HostPointer + offset, RamBlock.PageSize);
            }
        }
        else
        {
            _out.WriteBytes(compressed);
        }

        _out.Flush();
        pages.Clear();
        Packets++;
        _owner.AddBytes(MultifdPacketHeader.Size + dataBytes);
        _owner.AddPayloadBytes(MultifdPacketHeader.Size + ((long)offsets.Length * RamBlock.PageSize));
    }
}
