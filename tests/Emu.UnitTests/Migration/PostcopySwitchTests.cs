using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Migration;
using Emu.Migration.Postcopy;
using Emu.Migration.Precopy;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

/// <summary>
/// The source's side of the postcopy switch against a destination played by the test, which reads the stream and
/// answers PINGs only when told: the guest stops only once the destination has read everything before the drain
/// PING, and background pages wait for PONG(3) (the device state loaded), so the switch never queues behind pages.
/// </summary>
public sealed class PostcopySwitchTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    // Long enough that a source which did not wait would have written what the test looks for.
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(300);

    private readonly string _dir = Directory.CreateTempSubdirectory("emu-switch-").FullName;
    private readonly FakeMachine _machine = new(("pc.ram", 64 * 4096), ("vga.vram", 4 * 4096));
    private readonly List<byte> _received = [];
    private MigrationController? _source;
    private Socket? _channel;

    public void Dispose()
    {
        _channel?.Dispose();
        if (_source != null)
        {
            WaitFor(() => _source.Status is MigrationStatus.PostcopyPaused or MigrationStatus.Failed or MigrationStatus.Completed, "the source to see the link go");
        }

        _machine.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>QEMU_VM_COMMAND PING(value): 0x08, be16 MIG_CMD_PING, be16 4, be32 value.</summary>
    private static byte[] Ping(uint value) => [0x08, 0x00, (byte)MigCommand.Ping, 0x00, 0x04, 0, 0, 0, (byte)value];

    /// <summary>QEMU_VM_COMMAND POSTCOPY_RAM_DISCARD's first bytes.</summary>
    private static readonly byte[] DiscardCommand = [0x08, 0x00, (byte)MigCommand.PostcopyRamDiscard];

    [Fact]
    public void TheGuestStopsAfterTheDrainPongAndBackgroundPagesWaitForPong3()
    {
        Socket channel = StartPostcopyMigration();

        int drainPing = WaitForBytes(Ping(MigrationThread.SwitchDrainPing), 0, "the drain PING");
        Thread.Sleep(Quiet);
        Assert.Equal(RunState.Running, _machine.RunState);
        Assert.Equal(-1, IndexOf(DiscardCommand, drainPing));

        SendPong(channel, MigrationThread.SwitchDrainPing);
        int discard = WaitForBytes(DiscardCommand, drainPing, "the discard list after the drain PONG");
        int ping4 = WaitForBytes(Ping(4), discard, "PING(4) after the package");
        Assert.Equal(RunState.FinishMigrate, _machine.RunState);
        Assert.Equal(MigrationStatus.PostcopyActive, _source!.Status);

        // Nothing after PING(4) until the destination says it loaded the device state (PONG(3)).
        int endOfSwitch = ping4 + Ping(4).Length;
        Thread.Sleep(Quiet);
        Assert.Equal(endOfSwitch, Count);

        SendPong(channel, MigrationThread.BeforeRunPing);
        WaitFor(() => Count > endOfSwitch, "background pages after PONG(3)");
    }

    [Fact]
    public void ADestinationThatNeverAnswersDelaysTheSwitchOnlyByTheDrainTimeout()
    {
        StartPostcopyMigration();
        int drainPing = WaitForBytes(Ping(MigrationThread.SwitchDrainPing), 0, "the drain PING");
        int ping4 = WaitForBytes(Ping(4), drainPing, "the switch without a PONG");
        WaitFor(() => Count > ping4 + Ping(4).Length, "background pages without PONG(3)");
        Assert.Equal(MigrationStatus.PostcopyActive, _source!.Status);
    }

    /// <summary>
    /// A source with postcopy-ram migrating to a unix socket the test accepts; the switch is asked at once. The guest
    /// keeps dirtying pages and the downtime limit is 0, so precopy cannot complete before the switch.
    /// </summary>
    private Socket StartPostcopyMigration()
    {
        string path = Path.Combine(_dir, "dst.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        _source = new MigrationController(_machine, (_, _) => { });
        _source.SetCapabilities([("postcopy-ram", true)]);
        _source.SetParameters(new JsonObject { ["downtime-limit"] = 0 });
        _machine.StartGuest(8);
        _source.StartOutgoing($"unix:{path}");
        _source.StartPostcopy();
        _channel = listener.Accept();
        Socket channel = _channel;
        var reader = new Thread(() => ReadAll(channel)) { IsBackground = true, Name = "test/dst" };
        reader.Start();
        return channel;
    }

    private void ReadAll(Socket channel)
    {
        var buffer = new byte[1 << 16];
        try
        {
            int n;
            while ((n = channel.Receive(buffer)) > 0)
            {
                lock (_received)
                {
                    _received.AddRange(buffer.AsSpan(0, n));
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The test closed the channel.
        }
    }

    private static void SendPong(Socket channel, uint value)
    {
        // Framed into a buffer first: a stream over the socket would shut it down when disposed.
        var bytes = new MemoryStream();
        using (MigrationStream s = MigrationStream.ForWriting(bytes))
        {
            ReturnPathMessage.Pong(value).Write(s);
            s.Flush();
            channel.Send(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        }
    }

    private int Count
    {
        get
        {
            lock (_received)
            {
                return _received.Count;
            }
        }
    }

    private int IndexOf(byte[] pattern, int from)
    {
        lock (_received)
        {
            if (from > _received.Count)
            {
                return -1;
            }

            int i = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_received)[from..].IndexOf(pattern);
            return i < 0 ? -1 : from + i;
        }
    }

    private int WaitForBytes(byte[] pattern, int from, string what)
    {
        int at = -1;
        WaitFor(() => (at = IndexOf(pattern, from)) >= 0, what);
        return at;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < Timeout, $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }
}
