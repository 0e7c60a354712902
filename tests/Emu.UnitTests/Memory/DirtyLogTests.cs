using Emu.Machine.Memory;

namespace Emu.UnitTests.Memory;

public sealed class DirtyLogTests
{
    [Fact]
    public void SyncTakesEachDirtyPageOnceAndCountsOnlyNewlyDirty()
    {
        using var block = new RamBlock("pc.ram", 64 * RamBlock.PageSize);
        block.DirtyLog.Enable(DirtyClient.Migration, allDirty: false);
        var bitmap = new ulong[1];

        block.Write(3 * RamBlock.PageSize, [1]);
        block.Write(3 * RamBlock.PageSize + 5, [2]);
        block.Write(63 * RamBlock.PageSize, [3]);

        Assert.Equal(2, block.DirtyLog.Sync(DirtyClient.Migration, bitmap));
        Assert.Equal((1UL << 3) | (1UL << 63), bitmap[0]);
        Assert.Equal(0, block.DirtyLog.Sync(DirtyClient.Migration, bitmap));

        // Dirty again while still set in the destination bitmap: taken, but not newly dirty.
        block.Write(3 * RamBlock.PageSize, [4]);
        Assert.Equal(0, block.DirtyLog.Sync(DirtyClient.Migration, bitmap));
        Assert.False(block.DirtyLog.IsDirty(DirtyClient.Migration, 3));
    }

    [Fact]
    public void EnableMarksEveryPageDirtyButNoneBeyondTheBlock()
    {
        using var block = new RamBlock("pc.ram", 70 * RamBlock.PageSize);
        block.DirtyLog.Enable(DirtyClient.Migration);
        var bitmap = new ulong[2];
        Assert.Equal(70, block.DirtyLog.Sync(DirtyClient.Migration, bitmap));
        Assert.Equal((1UL << 6) - 1, bitmap[1]);
    }

    [Fact]
    public void DisabledClientRecordsNothing()
    {
        using var block = new RamBlock("pc.ram", 8 * RamBlock.PageSize);
        block.Write(0, [1]);
        var bitmap = new ulong[1];
        Assert.Equal(0, block.DirtyLog.Sync(DirtyClient.Migration, bitmap));
    }

    [Fact]
    public void StoreToProtectedCodePageReportsItOnce()
    {
        using var block = new RamBlock("pc.ram", 8 * RamBlock.PageSize);
        var hits = new List<int>();
        block.DirtyLog.CodePageWritten = hits.Add;

        block.DirtyLog.ProtectCode(2);
        block.Write(2 * RamBlock.PageSize + 100, [0x90]);
        block.Write(2 * RamBlock.PageSize + 101, [0x90]);
        block.Write(5 * RamBlock.PageSize, [0x90]);

        Assert.Equal([2], hits);
    }

    [Fact]
    public void TestAndClearServesTheDisplayPerPage()
    {
        using var block = new RamBlock("vga.vram", 4 * RamBlock.PageSize);
        block.DirtyLog.Enable(DirtyClient.Vga, allDirty: false);
        block.Write(RamBlock.PageSize, [7]);
        Assert.True(block.DirtyLog.TestAndClear(DirtyClient.Vga, 1));
        Assert.False(block.DirtyLog.TestAndClear(DirtyClient.Vga, 1));
        block.Write(RamBlock.PageSize, [8]);
        Assert.True(block.DirtyLog.TestAndClear(DirtyClient.Vga, 1));
    }

    [Fact]
    public void CodeClientCannotBeDisabled() =>
        Assert.Throws<InvalidOperationException>(() => new RamBlock("pc.ram", RamBlock.PageSize).DirtyLog.Disable(DirtyClient.Code));

    /// <summary>
    /// The migration property itself: writers store counters into random pages while a syncer repeatedly takes
    /// the dirty bits and "sends" (copies) the pages it took. Once the writers stop and a last sync is sent, the
    /// copy must equal memory. A write that escaped the log would leave a stale page in the copy.
    /// </summary>
    [Fact]
    public unsafe void NoWriteIsLostAcrossConcurrentSyncs()
    {
        const int pages = 512;
        const int writers = 3;
        using var block = new RamBlock("pc.ram", pages * RamBlock.PageSize);
        DirtyLog log = block.DirtyLog;
        log.Enable(DirtyClient.Migration);
        var copy = new ulong[pages];
        var bitmap = new ulong[pages / 64];
        using var stop = new CancellationTokenSource();
        long totalWrites = 0;

        var threads = new Thread[writers];
        for (int w = 0; w < writers; w++)
        {
            int id = w;
            threads[w] = new Thread(() =>
            {
                var rng = new Random(id);
                ulong counter = 0;
                long n = 0;
                while (!stop.IsCancellationRequested)
                {
                    // Each writer owns the pages congruent to its id, so values per page only grow.
                    int page = (rng.Next(pages / writers) * writers) + id;
                    ulong* slot = (ulong*)(block.HostPointer + ((long)page * RamBlock.PageSize));
                    Volatile.Write(ref *slot, ++counter);
                    log.MarkPageDirty(page);
                    n++;
                }

                Interlocked.Add(ref totalWrites, n);
            });
            threads[w].Start();
        }

        int syncs = 0;
        var until = DateTime.UtcNow.AddMilliseconds(400);
        while (DateTime.UtcNow < until || syncs < 50)
        {
            SyncAndSend();
            syncs++;
        }

        stop.Cancel();
        foreach (Thread t in threads)
        {
            t.Join();
        }

        SyncAndSend();
        for (int p = 0; p < pages; p++)
        {
            ulong actual = *(ulong*)(block.HostPointer + ((long)p * RamBlock.PageSize));
            Assert.True(copy[p] == actual, $"page {p}: memory holds {actual}, the last sent copy {copy[p]} ({syncs} syncs, {totalWrites} writes)");
        }

        Assert.True(totalWrites > 10_000, $"only {totalWrites} writes happened");

        void SyncAndSend()
        {
            Array.Clear(bitmap);
            log.Sync(DirtyClient.Migration, bitmap);
            for (int p = 0; p < pages; p++)
            {
                if ((bitmap[p >> 6] & (1UL << (p & 63))) != 0)
                {
                    copy[p] = Volatile.Read(ref *(ulong*)(block.HostPointer + ((long)p * RamBlock.PageSize)));
                }
            }
        }
    }
}
