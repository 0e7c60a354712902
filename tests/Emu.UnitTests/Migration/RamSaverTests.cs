using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Memory;
using Emu.Migration;
using Emu.Migration.Ram;
using Emu.Migration.Stream;

namespace Emu.UnitTests.Migration;

public class RamSaverTests
{
    private static (RamSaver Ram, MigrationStream S, MemoryStream Ms, MigrationStats Stats) Setup(FakeMachine m, Func<long>? clock = null, List<long>? passes = null)
    {
        var stats = new MigrationStats();
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        var ram = new RamSaver(m.RamBlocks, stats, null, p => passes?.Add(p), clock);
        ram.Setup(s);
        return (ram, s, ms, stats);
    }

    [Fact]
    public void FlagValuesAreQemus()
    {
        Assert.Equal(0x02UL, (ulong)RamSaveFlags.Zero);
        Assert.Equal(0x04UL, (ulong)RamSaveFlags.MemSize);
        Assert.Equal(0x08UL, (ulong)RamSaveFlags.Page);
        Assert.Equal(0x10UL, (ulong)RamSaveFlags.Eos);
        Assert.Equal(0x20UL, (ulong)RamSaveFlags.Continue);
        Assert.Equal(0x40UL, (ulong)RamSaveFlags.Xbzrle);
        Assert.Equal(0x80UL, (ulong)RamSaveFlags.Hook);
        Assert.Equal(0x100UL, (ulong)RamSaveFlags.CompressPage);
        Assert.Equal(0x200UL, (ulong)RamSaveFlags.MultifdFlush);
    }

    [Fact]
    public void SetupWritesMemSizeBlockListAndEos()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096), ("vga.vram", 8 * 4096));
        var (ram, s, ms, _) = Setup(m);
        s.Flush();
        var expected = new List<byte>();
        void U64(ulong v)
        {
            byte[] b = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(b, v);
            expected.AddRange(b);
        }

        U64((72 * 4096) | 0x04);
        expected.Add(6);
        expected.AddRange(Encoding.ASCII.GetBytes("pc.ram"));
        U64(64 * 4096);
        expected.Add(8);
        expected.AddRange(Encoding.ASCII.GetBytes("vga.vram"));
        U64(8 * 4096);
        U64(0x10);
        Assert.Equal(expected.ToArray(), ms.ToArray());
        ram.Cleanup();
    }

    [Fact]
    public void AfterSetupEveryPageIsDirtyAndOneSyncHappened()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096), ("vga.vram", 8 * 4096));
        var passes = new List<long>();
        var (ram, _, _, stats) = Setup(m, passes: passes);
        Assert.Equal(72, ram.DirtyPages);
        Assert.Equal(72 * 4096, ram.RemainingBytes);
        Assert.Equal(ram.TotalBytes, ram.PendingEstimate());
        Assert.Equal(1, stats.DirtySyncCount);
        Assert.Equal([1L], passes);
        Assert.True(m.RamBlocks[0].DirtyLog.IsEnabled(DirtyClient.Migration));
        ram.Cleanup();
        Assert.False(m.RamBlocks[0].DirtyLog.IsEnabled(DirtyClient.Migration));
    }

    [Fact]
    public void ZeroPageIsOneByteAndNormalPageIsRawAndContinueOmitsTheName()
    {
        using var m = new FakeMachine(("pc.ram", 2 * 4096), ("rom", 4096));
        m.RamBlocks[0].Page(1).Fill(0x5A);
        var (ram, s, ms, stats) = Setup(m);
        s.Flush();
        int setupLen = (int)ms.Length;
        Assert.Equal(1, ram.FindAndSaveBlock(s));
        Assert.Equal(1, ram.FindAndSaveBlock(s));
        Assert.Equal(1, ram.FindAndSaveBlock(s));
        Assert.Equal(0, ram.FindAndSaveBlock(s));
        s.Flush();
        byte[] wire = ms.ToArray()[setupLen..];
        int p = 0;

        // page 0 of pc.ram: zero, first of its block → name follows, then one 0x00 byte.
        Assert.Equal(0x02UL, BinaryPrimitives.ReadUInt64BigEndian(wire.AsSpan(p)));
        p += 8;
        Assert.Equal(6, wire[p]);
        Assert.Equal("pc.ram", Encoding.ASCII.GetString(wire, p + 1, 6));
        p += 7;
        Assert.Equal(0, wire[p++]);

        // page 1: normal, same block → CONTINUE, no name, 4096 raw bytes.
        Assert.Equal(0x1000UL | 0x08 | 0x20, BinaryPrimitives.ReadUInt64BigEndian(wire.AsSpan(p)));
        p += 8;
        Assert.All(wire.AsSpan(p, 4096).ToArray(), b => Assert.Equal(0x5A, b));
        p += 4096;

        // rom page 0: another block → no CONTINUE, name again.
        Assert.Equal(0x02UL, BinaryPrimitives.ReadUInt64BigEndian(wire.AsSpan(p)));
        p += 8;
        Assert.Equal("rom", Encoding.ASCII.GetString(wire, p + 1, wire[p]));
        p += 4;
        Assert.Equal(0, wire[p++]);
        Assert.Equal(wire.Length, p);

        Assert.Equal(2, stats.ZeroPages);
        Assert.Equal(1, stats.NormalPages);
        Assert.Equal(0, ram.RemainingBytes);
        ram.Cleanup();
    }

    [Fact]
    public void IdleGuestOnePassSendsEveryPageOnce()
    {
        using var m = new FakeMachine(("pc.ram", 256 * 4096), ("vga.vram", 16 * 4096));
        for (int i = 0; i < 256; i += 3)
        {
            m.RamBlocks[0].Page(i)[7] = 1;
        }

        var (ram, s, _, stats) = Setup(m);
        Assert.True(ram.Iterate(s));
        Assert.Equal(272, stats.NormalPages + stats.ZeroPages);
        Assert.Equal(86, stats.NormalPages);
        Assert.Equal(0, ram.FindAndSaveBlock(s));
        Assert.Equal(0, ram.PendingExact());
        ram.Cleanup();
    }

    [Fact]
    public void APageWrittenAfterSetupIsSentWithItsDataAndAgainAfterTheSync()
    {
        // The first lap asks the host's page map about a chunk when it reaches it and sends never-populated pages as
        // zero without reading them. A page the guest writes after setup is populated by then: it goes with its data,
        // and (being in the dirty log) once more after the next sync.
        using var m = new FakeMachine(("pc.ram", 32 * 4096));
        var (ram, s, _, stats) = Setup(m);
        m.GuestWrite(0, 5 * 4096 + 10, 0x42);
        Assert.True(ram.Iterate(s));
        Assert.Equal(1, stats.NormalPages);
        Assert.Equal(31, stats.ZeroPages);
        Assert.Equal(4096, ram.PendingExact());
        Assert.True(ram.Iterate(s));
        Assert.Equal(2, stats.NormalPages);
        ram.Cleanup();
    }

    [Fact]
    public void CompletionNeverTrustsTheSetupPageMap()
    {
        // Nothing follows the completion, so a page written after setup must go with its data there.
        using var m = new FakeMachine(("pc.ram", 32 * 4096));
        var (ram, s, _, stats) = Setup(m);
        m.GuestWrite(0, 9 * 4096, 0x44);
        ram.Complete(s);
        Assert.Equal(1, stats.NormalPages);
        Assert.Equal(31, stats.ZeroPages);
        ram.Cleanup();
    }

    [Fact]
    public void APageWrittenAfterBeingSentIsResentOnceAfterTheNextSync()
    {
        using var m = new FakeMachine(("pc.ram", 32 * 4096));
        var (ram, s, _, stats) = Setup(m);
        Assert.True(ram.Iterate(s));
        m.GuestWrite(0, 5 * 4096 + 10, 0x42);
        m.GuestWrite(0, 5 * 4096 + 11, 0x43);
        m.GuestWrite(0, 9 * 4096, 0x44);
        Assert.Equal(0, ram.PendingEstimate());
        Assert.Equal(2 * 4096, ram.PendingExact());
        Assert.Equal(2 * 4096, stats.RemainingBytes);
        long before = stats.NormalPages;
        Assert.True(ram.Iterate(s));
        Assert.Equal(before + 2, stats.NormalPages);
        Assert.Equal(0, ram.PendingExact());
        Assert.Equal(3, stats.DirtySyncCount);
        ram.Cleanup();
    }

    [Fact]
    public void ScanResumesWhereItStopped()
    {
        using var m = new FakeMachine(("pc.ram", 16 * 4096), ("b2", 4 * 4096));
        var (ram, s, _, _) = Setup(m);
        for (int i = 0; i < 10; i++)
        {
            ram.FindAndSaveBlock(s);
        }

        Assert.Equal((0, 10), ram.Cursor);

        // Dirty a page behind the cursor: the scan goes on forward first, then wraps to it.
        m.GuestWrite(0, 2 * 4096, 1);
        ram.PendingExact();
        ram.FindAndSaveBlock(s);
        Assert.Equal((0, 11), ram.Cursor);
        for (int i = 0; i < 9; i++)
        {
            ram.FindAndSaveBlock(s);
        }

        Assert.Equal((1, 4), ram.Cursor);
        Assert.Equal(1, ram.FindAndSaveBlock(s));
        Assert.Equal((0, 3), ram.Cursor);
        Assert.Equal(0, ram.FindAndSaveBlock(s));
        ram.Cleanup();
    }

    [Fact]
    public void IterateStopsWhenTheRateBudgetIsSpentAndEndsWithEos()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        for (int i = 0; i < 64; i++)
        {
            m.RamBlocks[0].Page(i).Fill(1);
        }

        var (ram, s, ms, stats) = Setup(m);
        s.Flush();
        long setupLen = ms.Length;
        s.ResetRateLimit();
        s.RateLimitMax = 3 * 4096;
        Assert.False(ram.Iterate(s));
        Assert.Equal(3, stats.NormalPages);
        s.Flush();
        byte[] wire = ms.ToArray();
        Assert.Equal(0x10UL, BinaryPrimitives.ReadUInt64BigEndian(wire.AsSpan(wire.Length - 8)));
        Assert.Equal(setupLen + 8 + 7 + 4096 + 2 * (8 + 4096) + 8, wire.Length);
        ram.Cleanup();
    }

    [Fact]
    public void DirtyPageRateIsComputedOnlyWhenAPeriodOfMoreThanOneSecondCloses()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        long now = 10_000;
        var passes = new List<long>();
        var (ram, s, _, stats) = Setup(m, () => now, passes);
        ram.Iterate(s);
        for (int i = 0; i < 20; i++)
        {
            m.GuestWrite(0, (ulong)i * 4096, 9);
        }

        now += 1000;
        ram.PendingExact();
        Assert.Equal(0, stats.DirtyPagesRate);
        now += 1000;
        ram.PendingExact();
        Assert.Equal(20 * 1000 / 2000, stats.DirtyPagesRate);
        Assert.Equal([1L, 2, 3], passes);
        ram.Cleanup();
    }

    [Fact]
    public void CompleteSendsEverythingIgnoringTheRateLimit()
    {
        using var m = new FakeMachine(("pc.ram", 64 * 4096));
        var (ram, s, _, stats) = Setup(m);
        s.RateLimitMax = 1;
        s.WriteU8(0);
        Assert.True(s.RateLimitExceeded);
        ram.Phase = RamPhase.Downtime;
        ram.Complete(s);
        Assert.Equal(64, stats.ZeroPages);
        Assert.Equal(0, ram.RemainingBytes);
        Assert.Equal((8 + 7 + 1) + (63 * (8 + 1)) + 8, stats.DowntimeBytes);
        ram.Cleanup();
    }
}
