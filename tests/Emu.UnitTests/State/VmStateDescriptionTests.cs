using Emu.Machine.State;

namespace Emu.UnitTests.State;

public sealed class VmStateDescriptionTests
{
    private sealed record Probe(byte Mode = 0, uint Count = 0, bool Gate = false, uint[]? Regs = null, ulong Extra = 0, ushort Added = 0);

    private static readonly VmStateDescription<Probe> Extended = new("probe-extra", 1, 1, () => new Probe(),
        [VmField.U64<Probe>("extra", s => s.Extra, (s, v) => s with { Extra = v })]);

    private static readonly VmStateDescription<Probe> Vmsd = new(
        "probe", version: 2, minimumVersion: 1, () => new Probe(Regs: new uint[2]),
        [
            VmField.U8<Probe>("mode", s => s.Mode, (s, v) => s with { Mode = v }),
            VmField.U32<Probe>("count", s => s.Count, (s, v) => s with { Count = v }),
            VmField.Bool<Probe>("gate", s => s.Gate, (s, v) => s with { Gate = v }),
            VmField.U32Array<Probe>("regs", 2, s => s.Regs!, (s, v) => s with { Regs = v }),
            VmField.U16<Probe>("added", s => s.Added, (s, v) => s with { Added = v }, sinceVersion: 2),
        ],
        [new VmStateSubsection<Probe>(Extended, s => s.Extra != 0, (s, sub) => s with { Extra = sub.Extra })],
        validate: s => s.Mode > 5 ? $"mode {s.Mode} is out of range 0..5" : null);

    [Fact]
    public void RoundTripIsBigEndianAndCarriesNeededSubsections()
    {
        var state = new Probe(3, 0x01020304, true, [7, 8], Extra: 0x99, Added: 0xABCD);
        var w = new ByteStateWriter();
        Vmsd.Save(state, w);
        byte[] bytes = w.ToArray();

        Assert.Equal(new byte[] { 3, 1, 2, 3, 4, 1, 0, 0, 0, 7, 0, 0, 0, 8, 0xAB, 0xCD, 0x05, 11 }, bytes[..18]);
        Probe back = Vmsd.Load(new ByteStateReader(bytes), 2);
        Assert.Equal(state with { Regs = null }, back with { Regs = null });
        Assert.Equal(state.Regs, back.Regs);
    }

    [Fact]
    public void OlderVersionSkipsFieldsAddedLater()
    {
        byte[] v1 = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Probe s = Vmsd.Load(new ByteStateReader(v1), 1);
        Assert.Equal(2u, s.Count);
        Assert.Equal(0, s.Added);
    }

    [Theory]
    [InlineData(3, "version 3 is not supported (this build loads 1 to 2)")]
    [InlineData(0, "version 0 is not supported")]
    public void UnknownVersionsAreRefused(int version, string message)
    {
        var e = Assert.Throws<VmStateException>(() => Vmsd.Load(new ByteStateReader(new byte[32]), version));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void InvalidValuesAndShortDataAreRefusedWithTheField()
    {
        byte[] bad = [9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Contains("mode 9 is out of range", Assert.Throws<VmStateException>(() => Vmsd.Load(new ByteStateReader(bad), 2)).Message);

        byte[] badBool = [1, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Contains("'gate'", Assert.Throws<VmStateException>(() => Vmsd.Load(new ByteStateReader(badBool), 2)).Message);

        var shortData = Assert.Throws<VmStateException>(() => Vmsd.Load(new ByteStateReader(new byte[3]), 2));
        Assert.Contains("field 'count'", shortData.Message);
    }

    [Fact]
    public void UnknownSubsectionIsRefusedByName()
    {
        var w = new ByteStateWriter();
        Vmsd.Save(new Probe(Regs: new uint[2]), w);
        w.WriteU8(0x05);
        w.WriteU8(4);
        w.WriteBytes("nope"u8);
        w.WriteU32(1);
        var e = Assert.Throws<VmStateException>(() => Vmsd.Load(new ByteStateReader(w.ToArray()), 2));
        Assert.Contains("no subsection 'nope'", e.Message);
    }

    [Fact]
    public void DescribeListsFieldsForTheVmdesc()
    {
        var json = Vmsd.Describe().ToJsonString();
        Assert.Contains("\"vmsd_name\":\"probe\"", json);
        Assert.Contains("{\"name\":\"count\",\"type\":\"uint32\",\"size\":4}", json);
        Assert.Contains("probe-extra", json);
    }
}
