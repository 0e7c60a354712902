using System.Buffers.Binary;
using Emu.Machine.Memory;
using Emu.Migration;
using Emu.Migration.Postcopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Serilog;

namespace Emu.UnitTests.Migration;

/// <summary>
/// Postcopy's RAM side (MIGRATION-SPEC §16 items 34–37, 40, 42): discards, the request queue, urgent pages,
/// the bitmap reload, atomic placement with parked waiters, and blocktime.
/// </summary>
public class PostcopyRamTests
{
    private static (RamSaver Ram, MigrationStream S, MemoryStream Ms, MigrationStats Stats) Setup(FakeMachine m)
    {
        var stats = new MigrationStats();
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        var ram = new RamSaver(m.RamBlocks, stats, null);
        ram.Setup(s);
        s.Flush();
        ms.SetLength(0);
        return (ram, s, ms, stats);
    }

    /// <summary>The (offset, flags) of each page record written since the stream was cleared.</summary>
    private static List<ulong> PageOffsets(MemoryStream ms)
    {
        var r = MigrationStream.ForReading(new MemoryStream(ms.ToArray()));
        var offsets = new List<ulong>();
        while (r.PeekU8() >= 0)
        {
            ulong word = r.ReadU64();
            var flags = (RamSaveFlags)(word & (ulong)RamSaveFlags.Mask);
            if ((flags & RamSaveFlags.Eos) != 0)
            {
                continue;
            }

            if ((flags & RamSaveFlags.Continue) == 0)
            {
                SaveVmWriterRead(r);
            }

            offsets.Add(word & ~(ulong)RamSaveFlags.Mask);
            r.Skip((flags & RamSaveFlags.Zero) != 0 ? 1 : RamBlock.PageSize);
        }

        return offsets;
    }

    private static void SaveVmWriterRead(MigrationStream r) => Emu.Migration.VmState.SaveVmWriter.ReadIdStr(r);

    [Fact]
    public void DiscardsCoverEveryDirtyOrUnsentPageInByteRangesAtMostTwelvePerCommand()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, s, ms, _) = Setup(m);
        // Send everything, then dirty 13 separate pages: 13 ranges → two commands (12 + 1).
        while (ram.FindAndSaveBlock(s) != 0)
        {
        }

        for (int p = 0; p < 26; p += 2)
        {
            m.RamBlocks[0].DirtyLog.MarkPageDirty(p);
        }

        s.Flush();
        ms.SetLength(0);
        Assert.Equal(13, ram.SendDiscardBitmap(s));
        s.Flush();
        var r = MigrationStream.ForReading(new MemoryStream(ms.ToArray()));
        var ranges = new List<(ulong, ulong)>();
        int commands = 0;
        while (r.PeekU8() >= 0)
        {
            Assert.Equal(0x08, r.ReadU8());
            Assert.Equal((ushort)MigCommand.PostcopyRamDiscard, r.ReadU16());
            ushort len = r.ReadU16();
            Assert.Equal(0, r.ReadU8());
            Assert.Equal("pc.ram", Emu.Migration.VmState.SaveVmWriter.ReadIdStr(r));
            Assert.Equal(0, r.ReadU8());
            int n = (len - 3 - 6) / 16;
            Assert.InRange(n, 1, 12);
            for (int i = 0; i < n; i++)
            {
                ranges.Add((r.ReadU64(), r.ReadU64()));
            }

            commands++;
        }

        Assert.Equal(2, commands);
        Assert.Equal(13, ranges.Count);
        Assert.Equal((2UL * 4096, 4096UL), ranges[1]);
    }

    [Fact]
    public void APageWrittenBeforeTheSwitchIsSentWithItsDataAfterIt()
    {
        // In postcopy a page goes once: the first lap's "never populated" map from setup must not survive the switch.
        using var m = new FakeMachine(("pc.ram", 32 * 4096));
        var (ram, s, _, stats) = Setup(m);
        m.GuestWrite(0, 6 * 4096, 0x5A);
        ram.SendDiscardBitmap(s);
        ram.Phase = RamPhase.Postcopy;
        while (ram.FindAndSaveBlock(s) != 0)
        {
        }

        Assert.Equal(1, stats.NormalPages);
        ram.Cleanup();
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 64)]
    [InlineData(63, 2)]
    [InlineData(5, 59)]
    [InlineData(5, 60)]
    [InlineData(64, 128)]
    [InlineData(70, 180)]
    [InlineData(0, 256)]
    public void ADiscardRangeMarksExactlyItsPages(int first, int count)
    {
        // Beside an earlier range, so a range that wrote whole words would clear or spill into other bits.
        var bm = new ulong[4];
        bm[3] = 1UL << 63;
        PostcopyIncoming.MarkDiscarded(bm, first, count);
        for (int p = 0; p < 256; p++)
        {
            bool expected = (p >= first && p < first + count) || p == 255;
            Assert.True(expected == ((bm[p >> 6] >> (p & 63) & 1) != 0), $"page {p} after discarding [{first}, {first + count})");
        }
    }

    [Fact]
    public void NeverSentPagesAreDiscardedAsOneRun()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, s, _, _) = Setup(m);
        for (int i = 0; i < 10; i++)
        {
            ram.FindAndSaveBlock(s);
        }

        Assert.Equal(54, ram.SendDiscardBitmap(s));
    }

    [Fact]
    public void RequestedPagesJumpTheQueueAndTheScanContinuesAfterThem()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, s, ms, stats) = Setup(m);
        ram.QueuePages("pc.ram", 40 * 4096, 2 * 4096);
        ram.FindAndSaveBlock(s);
        ram.FindAndSaveBlock(s);
        ram.FindAndSaveBlock(s);
        s.Flush();
        Assert.Equal([40UL * 4096, 41UL * 4096, 42UL * 4096], PageOffsets(ms));
        Assert.Equal(1, stats.PostcopyRequests);
    }

    [Fact]
    public void ARequestForAnAlreadySentPageIsSkipped()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, s, ms, _) = Setup(m);
        ram.FindAndSaveBlock(s); // page 0
        ram.QueuePages("pc.ram", 0, 4096);
        s.Flush();
        ms.SetLength(0);
        ram.FindAndSaveBlock(s);
        s.Flush();
        Assert.Equal([1UL * 4096], PageOffsets(ms));
    }

    [Fact]
    public void UrgentPagesGoToThePreemptStreamOnceAndNameTheirBlock()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, _, _, _) = Setup(m);
        var pms = new MemoryStream();
        var preempt = MigrationStream.ForWriting(pms);
        Assert.Equal(1, ram.SaveUrgentPages(preempt, "pc.ram", 5 * 4096, 4096));
        Assert.Equal(0, ram.SaveUrgentPages(preempt, null, 5 * 4096, 4096));
        Assert.Equal(63, ram.DirtyPages);
        byte[] b = pms.ToArray();
        Assert.Equal(5UL * 4096 | (ulong)RamSaveFlags.Zero, BinaryPrimitives.ReadUInt64BigEndian(b));
        Assert.Equal(6, b[8]);
    }

    [Theory]
    [InlineData(null, 0UL, 4096U, "has no previous block")]
    [InlineData("nope", 0UL, 4096U, "unknown RAMBlock 'nope'")]
    [InlineData("pc.ram", 100UL, 4096U, "misaligned page request")]
    [InlineData("pc.ram", 63UL * 4096, 8192U, "page request overrun")]
    public void BadRequestsMakeTheReturnPathBad(string? block, ulong start, uint length, string expected)
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, _, _, _) = Setup(m);
        var e = Assert.Throws<MigrationStreamException>(() => ram.QueuePages(block, start, length));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ReloadedBitmapIsTheComplementOfTheReceivedOne()
    {
        using var m = new FakeMachine(("pc.ram", 100 * 4096));
        var (ram, s, _, _) = Setup(m);
        while (ram.FindAndSaveBlock(s) != 0)
        {
        }

        var received = new ulong[2];
        received[0] = ulong.MaxValue & ~(1UL << 3);
        received[1] = (1UL << 36) - 1 & ~(1UL << 7);
        ram.ReloadBitmap("pc.ram", received);
        Assert.Equal(2, ram.DirtyPages);
    }

    [Fact]
    public void PlacementIsWholeNeverTwiceAndWakesAParkedReader()
    {
        using var m = new FakeMachine(("pc.ram", 16 * 4096));
        RamBlock b = m.RamBlocks[0];
        var rp = new DestinationReturnPath();
        var fault = new PostcopyFaultThread(rp, null, Log.Logger);
        b.Received = new ReceivedBitmap(b.PageCount);
        b.PageFaultHandler = fault;
        fault.Start();
        var loader = new RamLoader(m.RamBlocks) { Postcopy = fault };

        // A reader parks on page 3 and, when woken, must see every byte of the page placed.
        byte seen = 0;
        var reader = new Thread(() =>
        {
            b.EnsurePresent(3);
            byte first = b.Page(3)[0];
            seen = b.Page(3).IndexOfAnyExcept(first) < 0 ? first : (byte)0xEE;
        });
        reader.Start();
        Thread.Sleep(50);
        Assert.True(reader.IsAlive, "the reader must wait for the page");
        Assert.Equal(1, fault.Outstanding);

        byte[] page = new byte[4096];
        Array.Fill(page, (byte)0x5A);
        loader.Load(Stream(s =>
        {
            s.WriteU64(3 * 4096 | (ulong)RamSaveFlags.Page);
            Emu.Migration.VmState.SaveVmWriter.WriteIdStr(s, "pc.ram");
            s.WriteBytes(page);
            // The same page again: read past, never placed twice.
            s.WriteU64(3 * 4096 | (ulong)(RamSaveFlags.Zero | RamSaveFlags.Continue));
            s.WriteU8(0);
            s.WriteU64(4 * 4096 | (ulong)(RamSaveFlags.Zero | RamSaveFlags.Continue));
            s.WriteU8(0);
            s.WriteU64((ulong)RamSaveFlags.Eos);
        }), RamSaver.SectionVersion, Emu.Migration.VmState.SectionType.SectionPart);
        Assert.True(reader.Join(5000));
        Assert.Equal(0x5A, seen);
        Assert.Equal(0x5A, b.Page(3)[4095]);
        Assert.True(b.Received.IsReceived(4));
        Assert.Equal(1, loader.PagesAlreadyPresent);
        Assert.Equal(0, fault.Outstanding);
        fault.Stop();
    }

    [Fact]
    public void AParkedReaderWakesBeforeTheListenThreadBlocksOnTheSocket()
    {
        // Wake-ups are batched while whole records are buffered; once the stream would block, every waiter of a
        // placed page must have been woken, or a vCPU would sleep on a present page until more data came.
        using var m = new FakeMachine(("pc.ram", 8 * 4096));
        RamBlock b = m.RamBlocks[0];
        var fault = new PostcopyFaultThread(new DestinationReturnPath(), null, Log.Logger);
        b.Received = new ReceivedBitmap(b.PageCount);
        b.PageFaultHandler = fault;
        var loader = new RamLoader(m.RamBlocks) { Postcopy = fault };
        var reader = new Thread(() => b.EnsurePresent(3));
        reader.Start();
        Thread.Sleep(50);

        byte[] page3 = Bytes(w =>
        {
            w.WriteU64(3 * 4096 | (ulong)RamSaveFlags.Page);
            Emu.Migration.VmState.SaveVmWriter.WriteIdStr(w, "pc.ram");
            w.WriteBytes(new byte[4096]);
        });
        using var gate = new SemaphoreSlim(0);
        var wire = new GatedStream(page3, Bytes(w => w.WriteU64((ulong)RamSaveFlags.Eos)), gate);
        var listen = new Thread(() => loader.Load(MigrationStream.ForReading(wire), RamSaver.SectionVersion, Emu.Migration.VmState.SectionType.SectionPart));
        listen.Start();
        Assert.True(reader.Join(5000), "the reader of a placed page must wake while the listen thread waits for data");
        Assert.True(listen.IsAlive);
        gate.Release();
        Assert.True(listen.Join(5000));
    }

    [Fact]
    public void AZeroPagePlacedOverStalePrecopyBytesReadsAsZero()
    {
        // Discarded pages keep their stale precopy bytes behind a clear received bit; placing a zero page must
        // clear them, since nothing unmapped them.
        using var m = new FakeMachine(("pc.ram", 4 * 4096));
        RamBlock b = m.RamBlocks[0];
        b.Page(2).Fill(0xAB);
        var fault = new PostcopyFaultThread(new DestinationReturnPath(), null, Log.Logger);
        b.Received = new ReceivedBitmap(b.PageCount);
        b.PageFaultHandler = fault;
        var loader = new RamLoader(m.RamBlocks) { Postcopy = fault };
        loader.Load(Stream(s =>
        {
            s.WriteU64(2 * 4096 | (ulong)RamSaveFlags.Zero);
            Emu.Migration.VmState.SaveVmWriter.WriteIdStr(s, "pc.ram");
            s.WriteU8(0);
            s.WriteU64((ulong)RamSaveFlags.Eos);
        }), RamSaver.SectionVersion, Emu.Migration.VmState.SectionType.SectionPart);
        Assert.True(b.Received.IsReceived(2));
        Assert.True(b.Page(2).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void TheFaultingThreadSendsItsOwnRequestAndNamesTheBlockOnce()
    {
        // The fault thread is never started: the requests on the wire can only come from the faulting threads.
        using var m = new FakeMachine(("pc.ram", 8 * 4096));
        RamBlock b = m.RamBlocks[0];
        var wire = new MemoryStream();
        var rp = new DestinationReturnPath();
        rp.Open(wire);
        var fault = new PostcopyFaultThread(rp, null, Log.Logger);
        b.Received = new ReceivedBitmap(b.PageCount);
        b.PageFaultHandler = fault;
        var readers = new[] { Reader(b, 5), Reader(b, 6) };
        readers[0].Start();
        Assert.True(SpinWait.SpinUntil(() => fault.RequestsSent == 1, 5000), "the first reader sent no request");
        readers[1].Start();
        Assert.True(SpinWait.SpinUntil(() => fault.RequestsSent == 2, 5000), $"requests sent: {fault.RequestsSent}");

        var r = MigrationStream.ForReading(new MemoryStream(wire.ToArray()));
        Assert.Equal(ReturnPathMessage.ReqPages("pc.ram", 5 * 4096, 4096), ReturnPathMessage.Read(r));
        Assert.Equal(ReturnPathMessage.ReqPages(null, 6 * 4096, 4096), ReturnPathMessage.Read(r));

        fault.Fail("test over");
        Assert.All(readers, t => Assert.True(t.Join(5000)));
    }

    /// <summary>A thread that reads a page and ends quietly when postcopy fails under it.</summary>
    private static Thread Reader(RamBlock b, int page) => new(() => Record.Exception(() => b.EnsurePresent(page)));

    [Fact]
    public void AFailedPostcopyReleasesParkedAccessorsWithTheReason()
    {
        using var m = new FakeMachine(("pc.ram", 4 * 4096));
        RamBlock b = m.RamBlocks[0];
        var fault = new PostcopyFaultThread(new DestinationReturnPath(), null, Log.Logger);
        b.Received = new ReceivedBitmap(b.PageCount);
        b.PageFaultHandler = fault;
        Exception? caught = null;
        var t = new Thread(() => caught = Record.Exception(() => b.EnsurePresent(1)));
        t.Start();
        Thread.Sleep(50);
        fault.Fail("source gone");
        Assert.True(t.Join(5000));
        var e = Assert.IsType<GuestPageUnavailableException>(caught);
        Assert.Contains("source gone", e.Message);
    }

    [Fact]
    public void BlocktimeCountsPerVcpuAndTotalOnlyWhileAllAreBlocked()
    {
        using var m = new FakeMachine(("pc.ram", 4 * 4096));
        RamBlock b = m.RamBlocks[0];
        var bt = new PostcopyBlocktime(2);
        long f = System.Diagnostics.Stopwatch.Frequency;
        bt.Begin(0, b, 1, 1 * f);
        bt.PagePlaced(b, 1, 2 * f);
        bt.Resumed(0, 2 * f);
        Assert.Equal(0u, bt.TotalMs);
        bt.Begin(0, b, 2, 3 * f);
        bt.Begin(1, b, 3, 4 * f);
        bt.PagePlaced(b, 3, 5 * f);
        bt.Resumed(1, 5 * f);
        bt.PagePlaced(b, 2, 6 * f);
        bt.Resumed(0, 6 * f);
        Assert.Equal(1000u, bt.TotalMs);
        Assert.Equal([4000u, 1000u], bt.VcpuMs);
    }

    [Fact]
    public void BlocktimeEndsWhenThePageIsPlacedAndTheStallWhenTheVcpuRunsAgain()
    {
        using var m = new FakeMachine(("pc.ram", 4 * 4096));
        RamBlock b = m.RamBlocks[0];
        var bt = new PostcopyBlocktime(1);
        long f = System.Diagnostics.Stopwatch.Frequency;
        bt.Begin(0, b, 1, 1 * f);
        bt.PagePlaced(b, 2, 2 * f);
        bt.PagePlaced(b, 1, 3 * f);
        bt.Resumed(0, 7 * f);
        Assert.Equal([2000u], bt.VcpuMs);
        Assert.Equal(2000u, bt.TotalMs);
        Assert.Equal([6000u], bt.VcpuStallMs);

        // A page that arrived before the vCPU parked is never seen placed: its wait ends when the vCPU runs.
        bt.Begin(0, b, 3, 10 * f);
        bt.Resumed(0, 11 * f);
        Assert.Equal([3000u], bt.VcpuMs);
        Assert.Equal([7000u], bt.VcpuStallMs);
    }

    [Fact]
    public void LatencyPercentilesComeFromTheHistogram()
    {
        var h = new FaultLatencyHistogram();
        long us = System.Diagnostics.Stopwatch.Frequency / 1_000_000;
        for (int i = 0; i < 98; i++)
        {
            h.Record(40 * us);
        }

        h.Record(5000 * us);
        h.Record(5000 * us);

        // 40 µs is in [40, 48), 5000 µs in [4096, 5120): a bucket spans at most a quarter of its value.
        Assert.Equal(48, h.PercentileUs(50));
        Assert.Equal(5120, h.PercentileUs(99));
        Assert.Equal("<48us:98 <5120us:2", h.Describe());
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(3L)]
    [InlineData(4L)]
    [InlineData(7L)]
    [InlineData(99L)]
    [InlineData(100L)]
    [InlineData(1_000_000L)]
    public void EveryLatencyFallsInsideItsBucketsBounds(long value)
    {
        int bucket = FaultLatencyHistogram.Bucket(value);
        long upper = FaultLatencyHistogram.UpperBoundUs(bucket);
        long lower = bucket == 0 ? 0 : FaultLatencyHistogram.UpperBoundUs(bucket - 1);
        Assert.InRange(value, lower, upper - 1);
        Assert.True(upper - lower <= Math.Max(1, upper / 4), $"bucket [{lower}, {upper}) is too wide");
    }

    private static MigrationStream Stream(Action<MigrationStream> write) => MigrationStream.ForReading(new MemoryStream(Bytes(write)));

    private static byte[] Bytes(Action<MigrationStream> write)
    {
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        write(s);
        s.Flush();
        return ms.ToArray();
    }

    /// <summary>A socket stand-in: the first bytes at once, then a read blocks until the gate opens.</summary>
    private sealed class GatedStream(byte[] first, byte[] rest, SemaphoreSlim gate) : System.IO.Stream
    {
        private int _pos;
        private bool _opened;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            byte[] src = _opened ? rest : first;
            if (_pos == src.Length)
            {
                if (_opened)
                {
                    return 0;
                }

                gate.Wait();
                _opened = true;
                _pos = 0;
                src = rest;
            }

            int n = Math.Min(count, src.Length - _pos);
            Array.Copy(src, _pos, buffer, offset, n);
            _pos += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
