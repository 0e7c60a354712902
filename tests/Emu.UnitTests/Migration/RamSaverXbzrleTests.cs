using Emu.Migration;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

/// <summary>XBZRLE on the source (ram.c save_xbzrle_page), checked against a real destination load.</summary>
public class RamSaverXbzrleTests
{
    private const int Pages = 32;

    private sealed class Run : IDisposable
    {
        public readonly FakeMachine Src = new(("pc.ram", Pages * 4096));
        public readonly MigrationStats Stats = new();
        public readonly MigrationOptions Options = new();
        public readonly MemoryStream Wire = new();
        public readonly MigrationStream S;
        public readonly RamSaver Ram;

        public Run(ulong cacheBytes = Pages * 4096)
        {
            for (int p = 0; p < Pages; p++)
            {
                Src.RamBlocks[0].Page(p).Fill((byte)(0x40 + p));
            }

            Options.Parameters = Options.Parameters with { XbzrleCacheSizeBytes = cacheBytes };
            S = MigrationStream.ForWriting(Wire);
            Ram = new RamSaver(Src.RamBlocks, Stats, null);
            SaveVmWriter.WriteHeader(S);
            SaveVmWriter.WriteSectionHeader(S, SectionType.SectionStart, 0, "ram", 0, 4);
            Ram.Setup(S);
            Ram.EnableXbzrle(Options);
            SaveVmWriter.WriteFooter(S, 0);
        }

        /// <summary>One ram_save_iterate chunk after a sync; returns the bytes it put on the wire.</summary>
        public long Pass()
        {
            Ram.PendingExact();
            long before = S.Position;
            SaveVmWriter.WriteSectionShortHeader(S, SectionType.SectionPart, 0);
            Assert.True(Ram.Iterate(S));
            SaveVmWriter.WriteFooter(S, 0);
            return S.Position - before;
        }

        /// <summary>The ab guest's pass: the first byte of every page goes up by one.</summary>
        public void BumpFirstBytes()
        {
            for (int p = 0; p < Pages; p++)
            {
                Src.GuestWrite(0, (ulong)p * 4096, (byte)(Src.RamBlocks[0].Page(p)[0] + 1));
            }
        }

        /// <summary>Completes (VM stopped), loads everything into a fresh machine and checks it equals the source.</summary>
        public void CompleteAndCheckDestination()
        {
            Ram.Phase = RamPhase.Downtime;
            SaveVmWriter.WriteSectionShortHeader(S, SectionType.SectionEnd, 0);
            Ram.Complete(S);
            SaveVmWriter.WriteFooter(S, 0);
            SaveVmWriter.WriteEof(S);
            S.Flush();
            using var dst = new FakeMachine(("pc.ram", Pages * 4096));
            TestStreams.Load(dst, Wire.ToArray());
            for (int p = 0; p < Pages; p++)
            {
                Assert.Equal(Src.RamBlocks[0].Page(p).ToArray(), dst.RamBlocks[0].Page(p).ToArray());
            }
        }

        public void Dispose()
        {
            Ram.Cleanup();
            Src.Dispose();
        }
    }

    [Fact]
    public void TheThirdLapSendsDeltasAndTheDestinationMatches()
    {
        using var r = new Run();

        // Lap 1 (bulk): whole pages, XBZRLE not started, nothing cached.
        r.Pass();
        Assert.Equal(Pages, r.Stats.NormalPages);
        Assert.Equal(0, r.Stats.Xbzrle.CacheMiss);

        // Lap 2: every page misses, is cached, and goes whole from the cache.
        r.BumpFirstBytes();
        r.Pass();
        Assert.Equal(2 * Pages, r.Stats.NormalPages);
        Assert.Equal(Pages, r.Stats.Xbzrle.CacheMiss);
        Assert.Equal(0, r.Stats.Xbzrle.Pages);

        // Lap 3: every page hits; each delta is 00 01 vv (6 bytes with flag and length, header word not counted).
        r.BumpFirstBytes();
        long lapBytes = r.Pass();
        Assert.Equal(2 * Pages, r.Stats.NormalPages);
        Assert.Equal(Pages, r.Stats.Xbzrle.Pages);
        Assert.Equal(Pages * 6, r.Stats.Xbzrle.Bytes);
        Assert.Equal(0, r.Stats.Xbzrle.Overflow);
        Assert.True(lapBytes < Pages * 20, $"lap 3 took {lapBytes} bytes");
        Assert.Equal(3 * Pages, r.Stats.TotalPages);

        // Last stage: the guest is stopped, deltas straight from guest memory.
        r.BumpFirstBytes();
        r.CompleteAndCheckDestination();
        Assert.Equal(2 * Pages, r.Stats.Xbzrle.Pages);
    }

    [Fact]
    public void ADirtyButUnchangedPageIsSkipped()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.Pass();

        // Rewrite the same byte: dirty, but equal to the cached copy.
        r.Src.GuestWrite(0, 3 * 4096, r.Src.RamBlocks[0].Page(3)[0]);
        long before = r.S.Position;
        r.Pass();
        Assert.Equal(1, r.Stats.Xbzrle.Pages);
        Assert.Equal(0, r.Stats.Xbzrle.Bytes);

        // Only the section framing and EOS: the page itself sent nothing.
        Assert.Equal(1 + 4 + 8 + 1 + 4, r.S.Position - before);
        r.CompleteAndCheckDestination();
    }

    [Fact]
    public void AnOverflowSendsTheWholePageAndCountsIt()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.Pass();
        for (int i = 0; i < 4096; i += 2)
        {
            r.Src.GuestWrite(0, (5 * 4096) + (ulong)i, 0xEE);
        }

        long normal = r.Stats.NormalPages;
        r.Pass();
        Assert.Equal(1, r.Stats.Xbzrle.Overflow);
        Assert.Equal(normal + 1, r.Stats.NormalPages);
        Assert.Equal(4096, r.Stats.Xbzrle.Bytes);

        // The cache took the overflowing version, so a small change now is a delta against it.
        r.Src.GuestWrite(0, (5 * 4096) + 1, 0x01);
        r.Pass();
        Assert.Equal(2, r.Stats.Xbzrle.Pages);
        Assert.Equal(4096 + 6, r.Stats.Xbzrle.Bytes);
        r.CompleteAndCheckDestination();
    }

    [Fact]
    public void AZeroPageIsCachedAsZero()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.Pass();
        for (int i = 0; i < 4096; i++)
        {
            r.Src.GuestWrite(0, (9 * 4096) + (ulong)i, 0);
        }

        long zero = r.Stats.ZeroPages;
        r.Pass();
        Assert.Equal(zero + 1, r.Stats.ZeroPages);
        r.Src.GuestWrite(0, (9 * 4096) + 100, 0x5A);
        r.Pass();
        Assert.Equal(1, r.Stats.Xbzrle.Pages);

        // zrun 100 (64 01), nzrun 1, 5A: 3 bytes of delta + flag + length.
        Assert.Equal(6, r.Stats.Xbzrle.Bytes);
        r.CompleteAndCheckDestination();
    }

    [Fact]
    public void TheLastStageDoesNotFillTheCache()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.CompleteAndCheckDestination();
        Assert.Equal(Pages, r.Stats.Xbzrle.CacheMiss);
        Assert.False(r.Ram.XbzrleCache!.IsCached(0, 10));
    }

    [Fact]
    public void PostcopyNeverSendsDeltas()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.Pass();
        r.BumpFirstBytes();
        r.Ram.Phase = RamPhase.Postcopy;
        long normal = r.Stats.NormalPages;
        r.Ram.BitmapSync();
        SaveVmWriter.WriteSectionShortHeader(r.S, SectionType.SectionPart, 0);
        Assert.True(r.Ram.Iterate(r.S));
        SaveVmWriter.WriteFooter(r.S, 0);
        Assert.Equal(normal + Pages, r.Stats.NormalPages);
        Assert.Equal(0, r.Stats.Xbzrle.Pages);
    }

    [Fact]
    public void ASmallCacheEvictsOnlyStalePagesAndStillMatches()
    {
        // 8 slots for 32 pages: pages 0, 8, 16, 24 share slot 0.
        using var r = new Run(cacheBytes: 8 * 4096);
        Assert.Equal(8, r.Ram.XbzrleCache!.Slots);
        for (int lap = 0; lap < 6; lap++)
        {
            r.BumpFirstBytes();
            r.Pass();
        }

        Assert.True(r.Stats.Xbzrle.Pages > 0);
        Assert.True(r.Stats.Xbzrle.CacheMiss > r.Stats.Xbzrle.Pages);
        r.BumpFirstBytes();
        r.CompleteAndCheckDestination();
    }

    [Fact]
    public void ANewCacheSizeReplacesTheCacheAndItsContents()
    {
        using var r = new Run();
        r.Pass();
        r.BumpFirstBytes();
        r.Pass();
        r.Options.Parameters = r.Options.Parameters with { XbzrleCacheSizeBytes = 16 * 4096 };
        r.BumpFirstBytes();
        r.Pass();
        Assert.Equal(16, r.Ram.XbzrleCache!.Slots);
        Assert.Equal(0, r.Stats.Xbzrle.Pages);
        Assert.Equal(2 * Pages, r.Stats.Xbzrle.CacheMiss);
        r.BumpFirstBytes();
        r.CompleteAndCheckDestination();
    }

    [Fact]
    public void CleanupFreesTheCache()
    {
        using var r = new Run();
        Assert.NotNull(r.Ram.XbzrleCache);
        r.Ram.Cleanup();
        Assert.Null(r.Ram.XbzrleCache);
    }
}
