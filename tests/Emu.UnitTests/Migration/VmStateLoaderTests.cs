using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.UnitTests.Migration;

public class VmStateLoaderTests
{
    private static FakeMachine Source()
    {
        var m = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        for (int i = 0; i < 16; i += 2)
        {
            m.RamBlocks[0].Page(i).Fill((byte)(i + 1));
        }

        m.RamBlocks[1].Page(3)[100] = 0xEE;
        m.Timer.State = new FakeDeviceState { Counter = 0x1122334455667788, Mode = 2 };
        return m;
    }

    private static MigrationStreamException Refused(byte[] bytes, FakeMachine? dst = null)
    {
        using var d = dst ?? new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        return Assert.Throws<MigrationStreamException>(() => TestStreams.Load(d, bytes));
    }

    [Fact]
    public void HeaderIsMagicVersionAndConfiguration()
    {
        using var m = Source();
        byte[] bytes = TestStreams.SaveFull(m);
        Assert.Equal(0x5145564Du, BinaryPrimitives.ReadUInt32BigEndian(bytes));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(4)));
        Assert.Equal(0x07, bytes[8]);
        Assert.Equal(6u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(9)));
        Assert.Equal("pc-emu", Encoding.ASCII.GetString(bytes, 13, 6));

        // RAM START: type, id 0, "ram", instance 0, version 4.
        Assert.Equal(0x01, bytes[19]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(20)));
        Assert.Equal(3, bytes[24]);
        Assert.Equal("ram", Encoding.ASCII.GetString(bytes, 25, 3));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(28)));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(32)));
    }

    [Fact]
    public void EndsWithEofThenJsonVmDescriptionOfEveryDevice()
    {
        using var m = Source();
        byte[] bytes = TestStreams.SaveFull(m);
        int json = Array.LastIndexOf(bytes, (byte)0x06, bytes.Length - 1);
        while (json > 0 && !(bytes[json - 1] == 0x00 && bytes[json] == 0x06 && BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(json + 1)) == bytes.Length - json - 5))
        {
            json = Array.LastIndexOf(bytes, (byte)0x06, json - 1);
        }

        Assert.True(json > 0);
        var desc = JsonNode.Parse(Encoding.UTF8.GetString(bytes, json + 5, bytes.Length - json - 5))!.AsObject();
        Assert.Equal(4096, (int)desc["page_size"]!);
        JsonArray devices = desc["devices"]!.AsArray();
        Assert.Equal(3, devices.Count);
        Assert.Equal("globalstate", (string)devices[0]!["name"]!);
        Assert.Equal("fake-timer", (string)devices[2]!["vmsd_name"]!);
        Assert.Equal(1, (int)devices[2]!["instance_id"]!);
        Assert.Equal("counter", (string)devices[1]!["fields"]![0]!["name"]!);
    }

    [Fact]
    public void RoundTripRestoresMemoryAndDevices()
    {
        using var src = Source();
        byte[] bytes = TestStreams.SaveFull(src);
        using var dst = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        dst.RamBlocks[0].Page(1).Fill(0x99);
        TestStreams.Load(dst, bytes);
        for (int b = 0; b < 2; b++)
        {
            for (int p = 0; p < src.RamBlocks[b].PageCount; p++)
            {
                Assert.True(src.RamBlocks[b].Page(p).SequenceEqual(dst.RamBlocks[b].Page(p)), $"block {b} page {p}");
            }
        }

        Assert.Equal(src.Timer.State, dst.Timer.State);
    }

    [Fact]
    public void WrongMagic()
    {
        using var m = Source();
        byte[] bytes = TestStreams.SaveFull(m);
        bytes[0] = 0x51;
        bytes[3] = 0x00;
        Assert.Equal("savevm: wrong magic 0x51455600 at stream offset 0x0, expected 0x5145564d (QEVM)", Refused(bytes).Message);
    }

    [Fact]
    public void BadVersion()
    {
        using var m = Source();
        byte[] bytes = TestStreams.SaveFull(m);
        bytes[7] = 2;
        Assert.Equal("savevm: unsupported stream version 2 at stream offset 0x4, expected 3", Refused(bytes).Message);
    }

    [Fact]
    public void WrongMachineType()
    {
        using var m = Source();
        byte[] bytes = TestStreams.SaveFull(m);
        bytes[13] = (byte)'q';
        Assert.Equal("savevm: machine type received is 'qc-emu' and local is 'pc-emu' (stream offset 0x8)", Refused(bytes).Message);
    }

    [Fact]
    public void UnknownSectionIsNamed()
    {
        using var m = Source();
        m.DeviceList.Add(new FakeDevice("i8254", 0));
        byte[] bytes = TestStreams.SaveFull(m);
        var e = Refused(bytes);
        Assert.Matches(@"^savevm: unknown section 'i8254' instance 0 at stream offset 0x[0-9a-f]+$", e.Message);
    }

    [Fact]
    public void ASectionNameFromTheWireIsQuotedAndCutInTheRefusal()
    {
        using var m = Source();
        m.DeviceList.Add(new FakeDevice("\n\u001b[31m", 0));
        var e = Refused(TestStreams.SaveFull(m));
        Assert.Matches(@"^savevm: unknown section '\\x0a\\x1b\[31m' instance 0 at stream offset 0x[0-9a-f]+$", e.Message);

        using var m2 = Source();
        m2.DeviceList.Add(new FakeDevice(new string('n', 200), 0));
        var e2 = Refused(TestStreams.SaveFull(m2));
        Assert.Contains($"unknown section '{new string('n', 64)}…(200 bytes)' instance 0", e2.Message);
    }

    [Fact]
    public void DeviceVersionNewerThanThisBuildIsRefused()
    {
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, 7, "fake-timer", 0, 3);
        s.Flush();
        Assert.Equal("savevm: section 'fake-timer' version 3 at stream offset 0x13 is not supported, this build loads 1 to 2", Refused(ms.ToArray()).Message);
    }

    [Fact]
    public void OlderDeviceVersionLoadsWithoutTheNewField()
    {
        using var dst = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, 7, "fake-timer", 0, 1);
        s.WriteU64(77);
        SaveVmWriter.WriteFooter(s, 7);
        SaveVmWriter.WriteEof(s);
        s.Flush();
        var r = MigrationStream.ForReading(new MemoryStream(ms.ToArray()));
        new VmStateLoader(dst.Devices, []).Load(r);
        Assert.Equal(new FakeDeviceState { Counter = 77, Mode = 0 }, dst.Timer.State);
    }

    [Fact]
    public void InvalidDeviceValueIsRefusedAndTheDeviceUntouched()
    {
        using var dst = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionHeader(s, SectionType.SectionFull, 7, "fake-timer", 0, 2);
        s.WriteU64(77);
        s.WriteU8(9);
        SaveVmWriter.WriteFooter(s, 7);
        s.Flush();
        var before = dst.Timer.State;
        var e = Assert.Throws<MigrationStreamException>(() => new VmStateLoader(dst.Devices, []).Load(MigrationStream.ForReading(new MemoryStream(ms.ToArray()))));
        Assert.Equal("savevm: section 'fake-timer' instance 0 at stream offset 0x13: state: 'fake-timer': mode 9 out of range 0..3", e.Message);
        Assert.Same(before, dst.Timer.State);
    }

    [Fact]
    public void UnknownSectionIdIsRefused()
    {
        using var m = Source();
        var ms = new MemoryStream();
        var s = MigrationStream.ForWriting(ms);
        SaveVmWriter.WriteHeader(s);
        SaveVmWriter.WriteSectionShortHeader(s, SectionType.SectionPart, 42);
        s.Flush();
        Assert.Equal("savevm: unknown section id 42 at stream offset 0x13", Refused(ms.ToArray()).Message);
    }

    [Fact]
    public void MissingFooterIsRefused()
    {
        using var m = Source();
        byte[] bytes = TestStreams.RamSection(m, _ => { });
        int footer = bytes.Length - 6;
        Assert.Equal(0x7E, bytes[footer]);
        bytes[footer] = 0x7D;
        Assert.Equal($"savevm: footer of section 'ram' (id 0) missing at stream offset 0x{footer:x}: found 0x7d, expected 0x7e", Refused(bytes).Message);
    }

    [Fact]
    public void UnknownRecordTypeIsRefused()
    {
        using var m = Source();
        byte[] bytes = TestStreams.RamSection(m, _ => { });
        bytes[^1] = 0x09;
        Assert.Equal($"savevm: unknown record type 0x09 at stream offset 0x{bytes.Length - 1:x}", Refused(bytes).Message);
    }

    [Fact]
    public void CommandsAreRefusedWithoutAHandler()
    {
        using var m = Source();
        byte[] bytes = TestStreams.RamSection(m, _ => { });
        bytes = [.. bytes[..^1], 0x08, 0x00, 0x02, 0x00, 0x04, 0, 0, 0, 1];
        Assert.Equal($"savevm: unexpected command 2 (length 4) at stream offset 0x{bytes.Length - 9:x}", Refused(bytes).Message);
    }

    [Fact]
    public void TruncationAtEveryPointFailsCleanlyAndNeverWritesOutsideRam()
    {
        using var src = new FakeMachine(("pc.ram", 4 * 4096), ("rom", 4096));
        src.RamBlocks[0].Page(1).Fill(0x11);
        src.RamBlocks[1].Page(0).Fill(0x22);
        byte[] full = TestStreams.SaveFull(src);
        int eof = full.Length;
        while (!(full[eof - 1] == 0 && eof < full.Length && full[eof] == 0x06))
        {
            eof--;
        }

        using var dst = new FakeMachine(("pc.ram", 4 * 4096), ("rom", 4096));
        for (int len = 0; len < eof; len++)
        {
            var e = Assert.Throws<MigrationStreamException>(() => TestStreams.Load(dst, full[..len]));
            Assert.StartsWith("stream: unexpected end of stream at offset 0x", e.Message);
        }

        TestStreams.Load(dst, full[..eof]);
        TestStreams.Load(dst, full);
        Assert.True(src.RamBlocks[1].Page(0).SequenceEqual(dst.RamBlocks[1].Page(0)));
    }

    [Fact]
    public void RandomCorruptionNeverEscapesAsAnotherException()
    {
        using var src = Source();
        byte[] full = TestStreams.SaveFull(src);
        using var dst = new FakeMachine(("pc.ram", 16 * 4096), ("vga.vram", 4 * 4096));
        var rng = new Random(1234);
        int refused = 0;
        for (int i = 0; i < 400; i++)
        {
            byte[] bad = (byte[])full.Clone();
            int at = rng.Next(bad.Length - 1000);
            bad[at] ^= (byte)(1 << rng.Next(8));
            try
            {
                TestStreams.Load(dst, bad);
            }
            catch (MigrationStreamException)
            {
                refused++;
            }
        }

        Assert.True(refused > 0);
    }
}
