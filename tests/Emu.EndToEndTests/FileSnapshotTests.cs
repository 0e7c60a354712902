using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Emu.EndToEndTests.Support;

namespace Emu.EndToEndTests;

/// <summary>
/// <c>migrate file:PATH</c> writes the savevm stream to a file and <c>-incoming file:PATH</c> restores it, as
/// QEMU's file migration: the bytes are the wire format, and a restored guest is the saved one, byte for byte.
/// </summary>
public sealed class FileSnapshotTests
{
    private static readonly TimeSpan Timeout = MigrationPair.Timeout;
    private static readonly int RamMiB = 256;
    private static readonly ulong RamBytes = (ulong)RamMiB << 20;

    /// <summary>
    /// As QEMU's migration-test file cases: stop the source, save, restore. The restored guest is paused (the
    /// globalstate section), its memory is the saved memory byte for byte (§16 items 30, 43), and after cont it
    /// continues from the saved pass (it never prints its own "A").
    /// </summary>
    [Fact]
    public void StoppedGuestSnapshotRestoresByteForByteAndContinues()
    {
        using var src = EmuProcess.StartGuest("ab", "file-src", "-m", $"{RamMiB}M");
        using QmpClient srcQmp = src.ConnectQmp();
        src.WaitForSerial("B", 2, Timeout);
        srcQmp.Execute("stop");
        string snapshot = Save(src, srcQmp, RamBytes);
        Assert.Equal("postmigrate", MigrationPair.RunStatus(srcQmp));
        byte[] sourceRam = DumpRam(srcQmp, src.Directory, RamBytes);
        byte sourceV = AbInvariant.Check(sourceRam.AsSpan((int)AbInvariant.RegionStart, (int)AbInvariant.RegionBytes(RamBytes)));

        using EmuProcess restored = Restore(snapshot, "file-restore", RamMiB);
        using QmpClient qmp = restored.ConnectQmp();
        MigrationPair.WaitForStatus(qmp, ["completed"], Timeout, restored.Diagnostics);
        Assert.Equal("paused", MigrationPair.RunStatus(qmp));
        AssertSameBytes(sourceRam, DumpRam(qmp, restored.Directory, RamBytes));

        qmp.Execute("cont");
        restored.WaitForSerial("B", 3, Timeout);
        Assert.DoesNotContain("A", restored.Serial);
        byte v = PrecopyTests.StopAndCheck(restored, qmp, RamBytes);
        int passes = MigrationPair.Passes(restored);
        int drift = (sbyte)(byte)(v - sourceV - passes);
        Assert.True(Math.Abs(drift) <= 1, $"restored v={v} after {passes} passes from saved v={sourceV}\n{restored.Diagnostics()}");
    }

    /// <summary>
    /// A running guest saved live (small enough that the file's bandwidth × 300 ms covers its dirty region): the
    /// restore runs at once and continues; with -S it stays paused with the saved memory.
    /// </summary>
    [Fact]
    public void RunningGuestSnapshotRestoresRunning()
    {
        const int ramMiB = 32;
        const ulong ramBytes = (ulong)ramMiB << 20;
        using var src = EmuProcess.StartGuest("ab", "file-live-src", "-m", $"{ramMiB}M");
        using QmpClient srcQmp = src.ConnectQmp();
        src.WaitForSerial("B", 2, Timeout);
        string snapshot = Save(src, srcQmp, ramBytes);
        Assert.Equal("postmigrate", MigrationPair.RunStatus(srcQmp));
        byte[] sourceRam = DumpRam(srcQmp, src.Directory, ramBytes);

        using (EmuProcess paused = Restore(snapshot, "file-live-paused", ramMiB, "-S"))
        {
            using QmpClient qmp = paused.ConnectQmp();
            MigrationPair.WaitForStatus(qmp, ["completed"], Timeout, paused.Diagnostics);
            Assert.Equal("paused", MigrationPair.RunStatus(qmp));
            AssertSameBytes(sourceRam, DumpRam(qmp, paused.Directory, ramBytes));
        }

        using EmuProcess restored = Restore(snapshot, "file-live-restore", ramMiB);
        using QmpClient restoredQmp = restored.ConnectQmp();
        restored.WaitForSerial("B", 3, Timeout);
        Assert.Equal("completed", MigrationPair.Status(restoredQmp.Execute("query-migrate").AsObject()));
        Assert.Equal("running", MigrationPair.RunStatus(restoredQmp));
        Assert.DoesNotContain("A", restored.Serial);
        PrecopyTests.StopAndCheck(restored, restoredQmp, ramBytes);
    }

    [Fact]
    public void TruncatedSnapshotIsRefused()
    {
        using var src = EmuProcess.StartGuest("ab", "file-trunc-src", "-m", "32M");
        using QmpClient srcQmp = src.ConnectQmp();
        src.WaitForSerial("B", Timeout);
        string snapshot = Path.Combine(src.Directory, "ab.qevm");
        srcQmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 0 });
        srcQmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{snapshot}" });
        MigrationPair.WaitForStatus(srcQmp, ["completed"], Timeout, src.Diagnostics);

        string cut = Path.Combine(src.Directory, "cut.qevm");
        byte[] whole = File.ReadAllBytes(snapshot);
        int length = whole.Length / 2;
        File.WriteAllBytes(cut, whole[..length]);
        using var dst = new EmuProcess("file-trunc-dst");
        dst.Start("-m", "32M", "-kernel", EmuProcess.GuestPath("ab"), "-serial", $"file:{dst.SerialPath}", "-display", "none", "-incoming", $"file:{cut}");
        Assert.Equal(1, dst.WaitForExit(Timeout));
        Assert.Contains($"emu: stream: unexpected end of stream at offset 0x{length:x}, needed", dst.StandardError);
        Assert.DoesNotContain("   at ", dst.StandardError);
        Assert.Equal("", dst.Serial);
    }

    [Fact]
    public void MissingSnapshotFileIsRefused()
    {
        using var dst = new EmuProcess("file-missing");
        string path = Path.Combine(dst.Directory, "no-such.qevm");
        dst.Start("-m", "32M", "-kernel", EmuProcess.GuestPath("ab"), "-serial", $"file:{dst.SerialPath}", "-display", "none", "-incoming", $"file:{path}");
        Assert.NotEqual(0, dst.WaitForExit(Timeout));
        Assert.Contains(path, dst.StandardError);
        Assert.DoesNotContain("   at ", dst.StandardError);
        Assert.Equal("", dst.Serial);
    }

    /// <summary>
    /// The stream's first bytes as QEMU writes them: QEVM, version 3, the configuration section with the machine
    /// type, then the ram section's START (id 0, "ram", instance 0, version 4) with the MEM_SIZE word and pc.ram.
    /// </summary>
    private static void AssertSavevmHeader(string path, ulong ramBytes)
    {
        byte[] head = new byte[64];
        using (FileStream f = File.OpenRead(path))
        {
            f.ReadExactly(head);
        }

        ReadOnlySpan<byte> h = head;
        Assert.Equal("QEVM"u8.ToArray(), h[..4].ToArray());
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(h[4..]));
        Assert.Equal(0x07, h[8]);
        int nameLength = (int)BinaryPrimitives.ReadUInt32BigEndian(h[9..]);
        Assert.Equal("pc-emu", Encoding.ASCII.GetString(h.Slice(13, nameLength)));
        ReadOnlySpan<byte> ram = h[(13 + nameLength)..];
        Assert.Equal(0x01, ram[0]); // QEMU_VM_SECTION_START
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(ram[1..]));
        Assert.Equal(3, ram[5]);
        Assert.Equal("ram", Encoding.ASCII.GetString(ram.Slice(6, 3)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(ram[9..]));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(ram[13..]));
        ulong memSize = BinaryPrimitives.ReadUInt64BigEndian(ram[17..]);
        Assert.Equal(0x04UL, memSize & 0xFFF); // RAM_SAVE_FLAG_MEM_SIZE
        Assert.True((memSize & ~0xFFFUL) >= ramBytes, $"MEM_SIZE total 0x{memSize:x}");
        Assert.Equal(6, ram[25]);
        Assert.Equal("pc.ram", Encoding.ASCII.GetString(ram.Slice(26, 6)));
        Assert.Equal(ramBytes, BinaryPrimitives.ReadUInt64BigEndian(ram[32..]));
    }

    /// <summary>migrate file:SNAPSHOT at unlimited bandwidth; checks the completed info and the file's header.</summary>
    private static string Save(EmuProcess src, QmpClient qmp, ulong ramBytes)
    {
        string snapshot = Path.Combine(src.Directory, "ab.qevm");
        qmp.Execute("migrate-set-parameters", new JsonObject { ["max-bandwidth"] = 0 });
        qmp.Execute("migrate", new JsonObject { ["uri"] = $"file:{snapshot}" });
        JsonObject info = MigrationPair.WaitForStatus(qmp, ["completed"], Timeout, src.Diagnostics);
        PrecopyTests.AssertCompletedInfo(info, ramBytes);
        Assert.Equal(["setup", "active", "completed"], MigrationPair.MigrationEvents(qmp, "completed"));
        Assert.Equal(PrecopyTests.Ram(info, "transferred"), new FileInfo(snapshot).Length);
        AssertSavevmHeader(snapshot, ramBytes);
        return snapshot;
    }

    private static EmuProcess Restore(string snapshot, string name, int ramMiB, params string[] extraArgs) =>
        EmuProcess.StartGuest("ab", name, ["-m", $"{ramMiB}M", "-incoming", $"file:{snapshot}", .. extraArgs]);

    private static byte[] DumpRam(QmpClient qmp, string directory, ulong ramBytes)
    {
        string path = Path.Combine(directory, "ram.bin");
        qmp.Execute("pmemsave", new JsonObject { ["val"] = 0, ["size"] = ramBytes, ["filename"] = path });
        byte[] ram = File.ReadAllBytes(path);
        File.Delete(path);
        Assert.Equal((long)ramBytes, ram.LongLength);
        return ram;
    }

    private static void AssertSameBytes(byte[] expected, byte[] actual)
    {
        int i = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(i == expected.Length && actual.Length == expected.Length,
            $"restored RAM differs from the saved RAM at 0x{i:x}: saved {(i < expected.Length ? expected[i] : -1)}, restored {(i < actual.Length ? actual[i] : -1)}");
    }
}
