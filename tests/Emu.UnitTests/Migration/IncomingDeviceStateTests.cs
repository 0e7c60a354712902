using System.Diagnostics;
using System.Net.Sockets;
using Emu.Machine.Board;
using Emu.Machine.State;
using Emu.Migration;
using Emu.Migration.Postcopy;
using Emu.Migration.Precopy;
using Emu.Migration.Ram;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

/// <summary>
/// A destination refuses a stream whose device state ends (EOF in precopy and in a file snapshot, RUN in postcopy)
/// without a section it expects: the CPU and every device of its machine, and globalstate. The load fails with one
/// line naming the missing sections, and the guest never starts.
/// </summary>
public sealed class IncomingDeviceStateTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("emu-devstate-").FullName;
    private readonly FakeMachine _machine = new(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
    private readonly MigrationController _mig;
    private string? _error;

    public IncomingDeviceStateTests()
    {
        _mig = new MigrationController(_machine, (_, _) => { }) { IncomingFailed = e => _error = e };
    }

    public void Dispose()
    {
        _mig.Dispose();
        _machine.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Every section the fake machine's destination expects, as (name, instance).</summary>
    public static TheoryData<string, int> ExpectedSections => new()
    {
        { "globalstate", 0 },
        { "fake-timer", 0 },
        { "fake-timer", 1 },
    };

    [Theory]
    [MemberData(nameof(ExpectedSections))]
    public void ASnapshotWithoutAnExpectedSectionIsRefusedAndTheGuestNeverStarts(string name, int instance)
    {
        using var source = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        byte[] stream = TestStreams.SaveFull(source, include: d => !(d.SectionName == name && d.InstanceId == instance));

        Load(stream);

        WaitFor(() => _mig.IncomingStatus == MigrationStatus.Failed && _error != null, "failed");
        Assert.Equal($"savevm: stream ended at offset 0x{stream.Length:x} without the section '{name}' (instance {instance})", _error);
        Assert.Equal(_error, _mig.Incoming!.Error);
        Assert.Equal(0, _machine.StartCount);
        Assert.Equal(RunState.InMigrate, _machine.RunState);
    }

    [Fact]
    public void EveryMissingSectionIsNamedInOneLine()
    {
        using var source = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        byte[] stream = TestStreams.SaveFull(source, include: d => d.SectionName == "globalstate");

        Load(stream);

        WaitFor(() => _mig.IncomingStatus == MigrationStatus.Failed && _error != null, "failed");
        Assert.Equal($"savevm: stream ended at offset 0x{stream.Length:x} without the sections 'fake-timer' (instance 0), 'fake-timer' (instance 1)", _error);
        Assert.Equal(0, _machine.StartCount);
    }

    /// <summary>Emu's downtime stamp only feeds a log line: a stream without it (as TestStreams writes) loads and runs.</summary>
    [Fact]
    public void AStreamWithEveryExpectedSectionButNoDowntimeStampLoadsAndRuns()
    {
        using var source = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        source.Timer.State = new FakeDeviceState { Counter = 42, Mode = 1 };

        Load(TestStreams.SaveFull(source));

        WaitFor(() => _mig.IncomingStatus == MigrationStatus.Completed, "completed");
        Assert.Null(_error);
        Assert.Equal(1, _machine.StartCount);
        Assert.Equal(source.Timer.State, _machine.Timer.State);
    }

    /// <summary>
    /// In postcopy the device state arrives in the PACKAGED blob, between LISTEN and RUN: a package without a
    /// section is refused at RUN, before the guest would start on a reset device.
    /// </summary>
    [Fact]
    public void APostcopyPackageWithoutAnExpectedSectionIsRefusedAtRun()
    {
        using var source = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        using Socket channel = ConnectPostcopySource("postcopy.sock");
        using (MigrationStream s = BeginPostcopyStream(channel, source))
        {
            var package = new MemoryStream();
            using (var p = MigrationStream.ForWriting(package))
            {
                MigCommandWriter.SendPostcopyListen(p);
                WriteDeviceSections(p, source, skip: source.DeviceList[1]);
                MigCommandWriter.SendPostcopyRun(p);
                p.Flush();
            }

            MigCommandWriter.SendPackaged(s, package.ToArray());
            s.Flush();
        }

        WaitFor(() => _mig.IncomingStatus == MigrationStatus.Failed && _error != null, "failed");
        Assert.Equal("postcopy: the device state ended at RUN without the section 'fake-timer' (instance 1)", _error);
        Assert.Equal(0, _machine.StartCount);
    }

    /// <summary>
    /// The first RAM_DISCARD comes after the source stopped its vCPUs: from there the destination's background
    /// population of guest RAM must give way to the switch, and not before (ADVISE comes at setup, mid-precopy).
    /// </summary>
    [Fact]
    public void TheFirstDiscardStopsTheBackgroundPopulationOfRam()
    {
        using var source = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        using Socket channel = ConnectPostcopySource("discard.sock");
        using MigrationStream s = BeginPostcopyStream(channel, source);
        MigCommandWriter.SendPing(s, 1);
        s.Flush();
        WaitFor(() => _mig.IncomingStatus == MigrationStatus.Active, "active");
        Thread.Sleep(50);
        Assert.Equal(0, _machine.PrefaultStops);

        MigCommandWriter.SendPostcopyRamDiscard(s, "pc.ram", [(0, 2 * 4096)]);
        MigCommandWriter.SendPostcopyRamDiscard(s, "pc.ram", [(8 * 4096, 4096)]);
        s.Flush();
        WaitFor(() => _machine.PrefaultStops > 0, "the prefault stop");
        Thread.Sleep(50);
        Assert.Equal(1, _machine.PrefaultStops);
    }

    /// <summary>
    /// <c>-incoming defer</c> warms the devices' load path at once, not at <c>migrate-incoming</c>: the warm-up loads
    /// each device's own state back (no change) and must end before a load begins, so run late it held the source's
    /// data in the sockets.
    /// </summary>
    [Fact]
    public void ADeferredDestinationWarmsItsDevicesBeforeMigrateIncomingWithoutChangingThem()
    {
        var before = new FakeDeviceState { Counter = 7, Mode = 2 };
        _machine.Timer.State = before;
        _mig.StartIncoming("defer");
        WaitFor(() => _machine.Timer.LoadCount == 1, "the warm-up's load");
        Assert.Equal(before, _machine.Timer.State);
        Assert.Equal(RunState.InMigrate, _machine.RunState);
        Assert.Null(_mig.Incoming);
    }

    /// <summary>A postcopy destination listening on a unix socket named <paramref name="name"/>, and the source's end of it.</summary>
    private Socket ConnectPostcopySource(string name)
    {
        _mig.SetCapabilities([("postcopy-ram", true)]);
        string sock = Path.Combine(_dir, name);
        _mig.StartIncoming($"unix:{sock}");
        var channel = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        channel.Connect(new UnixDomainSocketEndPoint(sock));
        return channel;
    }

    /// <summary>A postcopy source's stream up to its RAM block list: header, OPEN_RETURN_PATH, ADVISE.</summary>
    private static MigrationStream BeginPostcopyStream(Socket channel, FakeMachine source)
    {
        MigrationStream s = MigrationStream.ForWriting(new NetworkStream(channel, ownsSocket: false));
        SaveVmWriter.WriteHeader(s);
        MigCommandWriter.SendOpenReturnPath(s);
        MigCommandWriter.SendPostcopyAdvise(s, 4096, 4096);
        WriteRamSetup(s, source);
        return s;
    }

    private void Load(byte[] stream)
    {
        string file = Path.Combine(_dir, "snapshot.bin");
        File.WriteAllBytes(file, stream);
        _mig.StartIncoming($"file:{file}");
    }

    /// <summary>The RAM section's START: the block list (QEMU ram_save_setup), EOS, footer.</summary>
    private static void WriteRamSetup(MigrationStream s, FakeMachine m)
    {
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionStart, 0, "ram", 0, RamSaver.SectionVersion);
        s.WriteU64((ulong)m.RamBlocks.Sum(b => (long)b.SizeBytes) | (ulong)RamSaveFlags.MemSize);
        foreach (var b in m.RamBlocks)
        {
            SaveVmWriter.WriteIdStr(s, b.IdStr);
            s.WriteU64(b.SizeBytes);
        }

        s.WriteU64((ulong)RamSaveFlags.Eos);
        SaveVmWriter.WriteFooter(s, 0);
    }

    private static void WriteDeviceSections(MigrationStream s, FakeMachine m, IVmStateDevice skip)
    {
        var global = new GlobalState();
        global.Store(RunState.Running);
        uint id = 1;
        foreach (IVmStateDevice d in new List<IVmStateDevice> { global }.Concat(m.Devices))
        {
            if (d == skip)
            {
                continue;
            }

            SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, id, d.SectionName, (uint)d.InstanceId, (uint)d.Description.Version);
            d.SaveState(s);
            SaveVmWriter.WriteFooter(s, id);
            id++;
        }
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}");
            Thread.Sleep(5);
        }
    }
}
