using System.Net.Sockets;
using Emu.Machine.Memory;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

/// <summary>
/// Queued (zero-copy) writes: headers from the buffer and pages from guest memory reach the wire in the order they
/// were written, whatever the inner stream, across writev's piece limit, buffer flushes and partial writes.
/// </summary>
public unsafe class MigrationStreamVectoredTests
{
    /// <summary>
    /// Writes <paramref name="pages"/> records (an 8-byte header, then the page queued from <paramref name="ram"/>),
    /// and what the same records look like written plainly.
    /// </summary>
    private static byte[] WriteRecords(MigrationStream w, RamBlock ram, int pages)
    {
        var expected = new MemoryStream();
        var plain = MigrationStream.ForWriting(expected);
        for (int i = 0; i < pages; i++)
        {
            int page = i % ram.PageCount;
            w.WriteU64((ulong)i);
            w.WriteExternal(ram.HostPointer + ((ulong)page << RamBlock.PageShift), RamBlock.PageSize);
            plain.WriteU64((ulong)i);
            plain.WriteBytes(ram.Page(page));
        }

        w.WriteU8(0xEE);
        plain.WriteU8(0xEE);
        plain.Flush();
        return expected.ToArray();
    }

    private static RamBlock PatternedRam(int pages)
    {
        var ram = new RamBlock("pc.ram", (ulong)pages * RamBlock.PageSize);
        for (int p = 0; p < pages; p++)
        {
            Span<byte> page = ram.Page(p);
            for (int i = 0; i < page.Length; i++)
            {
                page[i] = (byte)(p * 7 + i);
            }
        }

        return ram;
    }

    [Fact]
    public void QueuedPagesKeepTheirOrderOnANonSocketStream()
    {
        using RamBlock ram = PatternedRam(8);
        var ms = new MemoryStream();
        var w = MigrationStream.ForWriting(ms);

        // More records than one writev takes (512) and more bytes than the buffer holds.
        byte[] expected = WriteRecords(w, ram, 1300);
        Assert.Equal(expected.Length, w.Position);
        w.Flush();
        Assert.Equal(expected, ms.ToArray());
    }

    [Fact]
    public void QueuedPagesReachASocketWholeThroughPartialWrites()
    {
        using RamBlock ram = PatternedRam(16);
        using var pair = new SocketPair();

        // A small send buffer makes writev stop part-way through pieces; the reader drains slowly at first.
        pair.A.SendBufferSize = 16 * 1024;
        var w = MigrationStream.ForWriting(new NetworkStream(pair.A, ownsSocket: false));
        byte[] received = [];
        var reader = new Thread(() =>
        {
            using var input = new NetworkStream(pair.B, ownsSocket: false);
            var all = new MemoryStream();
            byte[] chunk = new byte[3000];
            int n;
            while ((n = input.Read(chunk)) > 0)
            {
                all.Write(chunk, 0, n);
                if (all.Length < 64 * 1024)
                {
                    Thread.Sleep(1);
                }
            }

            received = all.ToArray();
        });
        reader.Start();

        byte[] expected = WriteRecords(w, ram, 1100);
        w.Flush();
        pair.A.Shutdown(SocketShutdown.Send);
        Assert.True(reader.Join(10_000));
        Assert.Equal(expected.Length, received.Length);
        Assert.Equal(expected, received);
    }

    [Fact]
    public void CloseFromAnotherThreadUnblocksAQueuedWrite()
    {
        using RamBlock ram = PatternedRam(64);
        using var pair = new SocketPair();
        var w = MigrationStream.ForWriting(new NetworkStream(pair.A, ownsSocket: true));
        Exception? caught = null;
        var writer = new Thread(() => caught = Record.Exception(() =>
        {
            // Nobody reads: the socket fills and writev blocks until Close.
            for (int i = 0; i < 100_000; i++)
            {
                w.WriteU64((ulong)i);
                w.WriteExternal(ram.HostPointer + ((ulong)(i % 64) << RamBlock.PageShift), RamBlock.PageSize);
            }

            w.Flush();
        }));
        writer.Start();
        Thread.Sleep(200);
        Assert.True(writer.IsAlive, "the writer must be blocked on the full socket");
        w.Close();
        Assert.True(writer.Join(5000), "Close must unblock writev");
        Assert.IsType<MigrationStreamException>(caught);
    }
}
