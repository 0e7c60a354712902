using System.Net.Sockets;
using Emu.Machine.Memory;
using Emu.Migration;
using Emu.Migration.Multifd;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.Transport;

namespace Emu.UnitTests.Migration.Multifd;

/// <summary>
/// A <see cref="MultifdSender"/> and a <see cref="MultifdReceiver"/> over loopback in one process: pages arrive
/// whole by every compression, the sync points hold, and a corrupt or cut channel fails the migration with one
/// line instead of crashing anything.
/// </summary>
public sealed class MultifdChannelTests : IDisposable
{
    private const int Pages = 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly SourceAndDestinationRam _ram = new(Pages);
    private readonly MigrationListener _listener = MigrationListener.Listen(new MigrationUri(MigrationUriKind.Tcp, "127.0.0.1", 0, ""));
    private readonly MigrationStream _main = MigrationStream.ForWriting(System.IO.Stream.Null);
    private readonly List<string> _failures = [];

    public void Dispose()
    {
        _listener.Dispose();
        _main.Dispose();
        _ram.Dispose();
    }

    private MigrationUri Uri => new(MigrationUriKind.Tcp, "127.0.0.1", _listener.Port, "");

    [Theory]
    [InlineData(MultifdCompression.None, 1)]
    [InlineData(MultifdCompression.None, 4)]
    [InlineData(MultifdCompression.Zlib, 2)]
    [InlineData(MultifdCompression.Zstd, 4)]
    public void RoundsOfPagesArriveWholeBeforeEachSync(MultifdCompression compression, int channels)
    {
        var p = new MigrationParameters { MultifdChannels = (ulong)channels, MultifdCompression = compression };
        var stats = new MigrationStats();
        using MultifdReceiver receiver = StartReceiver(p);
        using MultifdSender sender = MultifdSender.Connect(Uri, p, [_ram.Source], stats, _ => { }, Serilog.Core.Logger.None);
        var random = new Random(channels);
        for (int round = 0; round < 3; round++)
        {
            // Every page once per round, each with new contents; the first half incompressible in round 1.
            for (int page = 0; page < Pages; page++)
            {
                Span<byte> data = _ram.Source.Page(page);
                data.Fill((byte)(round + page));
                if (round == 1 && page < Pages / 2)
                {
                    random.NextBytes(data);
                }

                sender.QueuePage(_main, 0, (ulong)page << RamBlock.PageShift);
            }

            sender.SyncMain(_main);
            receiver.SyncMain();
            for (int page = 0; page < Pages; page++)
            {
                Assert.True(_ram.SamePage(page), $"round {round}: page {page} differs");
            }
        }

        Assert.Empty(_failures);
        Assert.Equal(3L * Pages, receiver.PagesPlaced);
        Assert.True(stats.MultifdBytes > 0);
        Assert.True(_main.RateLimitUsed > 0, "the channels' bytes count against the main stream's rate limit");
        (long packets, long raw) = sender.PacketCounts;
        Assert.True(packets >= 3 * Pages / MultifdPacketHeader.PageSlots, $"{packets} packets");
        Assert.True(compression == MultifdCompression.None ? raw == 0 : raw > 0, $"{raw} packets sent raw");
    }

    [Fact]
    public void ACorruptPacketFailsTheIncomingMigrationWithOneLine()
    {
        var p = new MigrationParameters { MultifdChannels = 1 };
        using MultifdReceiver receiver = StartReceiver(p);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", _listener.Port);
        var bytes = new byte[MultifdInitPacket.Size + MultifdPacketHeader.Size];
        new MultifdInitPacket(0).Write(bytes);
        new MultifdPacketHeader(MultifdFlags.Sync, 1, RamBlock.PageSize, 5, 0).Write(bytes.AsSpan(MultifdInitPacket.Size), "pc.ram"u8, [(ulong)Pages << RamBlock.PageShift]);
        socket.Send(bytes);

        var e = Assert.Throws<MigrationStreamException>(receiver.SyncMain);
        Assert.Equal("multifd: channel 0: packet 5: offset 0x400000 in 'pc.ram' is not a page of its 0x400000 bytes", e.Message);

        // The channel thread reports the failure just after it wakes the waiter that threw above.
        Assert.True(SpinWait.SpinUntil(() => { lock (_failures) { return _failures.Count > 0; } }, TimeSpan.FromSeconds(10)), "the failure was never reported");
        lock (_failures)
        {
            Assert.Equal([e.Message], _failures);
        }
    }

    [Fact]
    public void AnUnknownChannelIdIsRefused()
    {
        using MultifdReceiver receiver = StartReceiver(new MigrationParameters { MultifdChannels = 2 });
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect("127.0.0.1", _listener.Port);
        var init = new byte[MultifdInitPacket.Size];
        new MultifdInitPacket(7).Write(init);
        socket.Send(init);
        var e = Assert.Throws<MigrationStreamException>(receiver.SyncMain);
        Assert.Equal("multifd: received channel id 7 is greater than number of channels 2", e.Message);
    }

    [Fact]
    public void AChannelCutByThePeerFailsTheSenderWithOneLine()
    {
        var p = new MigrationParameters { MultifdChannels = 2 };
        using var sender = MultifdSender.Connect(Uri, p, [_ram.Source], new MigrationStats(), _ => { }, Serilog.Core.Logger.None);

        // The destination side: take the two connections and drop them.
        _listener.Accept().Close();
        _listener.Accept().Close();

        var e = Assert.Throws<MigrationStreamException>(() =>
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (DateTime.UtcNow < deadline)
            {
                for (int page = 0; page < Pages; page++)
                {
                    sender.QueuePage(_main, 0, (ulong)page << RamBlock.PageShift);
                }

                sender.SyncMain(_main);
            }
        });
        Assert.StartsWith("multifd: channel ", e.Message);
        Assert.Contains(": send failed: ", e.Message);
    }

    private MultifdReceiver StartReceiver(MigrationParameters p)
    {
        var loader = new RamLoader([_ram.Destination]);
        var receiver = new MultifdReceiver(loader, [_ram.Destination], p, m => { lock (_failures) { _failures.Add(m); } }, Serilog.Core.Logger.None);
        receiver.Start(_listener);
        return receiver;
    }
}
