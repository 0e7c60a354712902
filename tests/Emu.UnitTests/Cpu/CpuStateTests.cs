using Emu.Machine.Cpu;
using Emu.Machine.Cpu.State;
using Emu.Machine.State;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

public sealed class CpuStateTests
{
    private static byte[] SaveBytes(CpuState s)
    {
        var w = new ByteStateWriter();
        CpuState.Vmsd.Save(s, w);
        return w.ToArray();
    }

    [Fact]
    public void SaveLoadRoundTripsThroughBytes()
    {
        using var m = new CpuTestMachine();
        m.Load(32, 0x10_0000, a =>
        {
            a.mov(eax, 0x1234);
            a.add(eax, 0xFFFF_FFFF);
            a.mov(esp, 0x9000);
            a.push(eax);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(0x10_0000, 0, 0);
        m.RunToHalt();
        CpuState saved = m.Cpu.Save();

        byte[] bytes = SaveBytes(saved);
        CpuState loaded = CpuState.Vmsd.Load(new ByteStateReader(bytes), 1);
        Assert.Equal(saved, loaded);

        using var other = new CpuTestMachine();
        other.Cpu.Load(loaded);
        Assert.Equal(saved, other.Cpu.Save());
        Assert.Equal(1u, saved.Eflags & 1);
    }

    [Fact]
    public void TruncatedStateIsRefused()
    {
        using var m = new CpuTestMachine();
        byte[] bytes = SaveBytes(m.Cpu.Save());
        Assert.Throws<VmStateException>(() => CpuState.Vmsd.Load(new ByteStateReader(bytes.AsSpan(0, bytes.Length - 3).ToArray()), 1));
    }

    [Fact]
    public void InconsistentStateIsRefused()
    {
        using var m = new CpuTestMachine();
        CpuState bad = m.Cpu.Save() with { Cr0 = 0x8000_0000 };
        var e = Assert.Throws<VmStateException>(() => CpuState.Vmsd.Load(new ByteStateReader(SaveBytes(bad)), CpuState.Vmsd.Version));
        Assert.Contains("paging without protection", e.Message);

        CpuState badFlags = m.Cpu.Save() with { Eflags = 0 };
        Assert.Throws<VmStateException>(() => CpuState.Vmsd.Load(new ByteStateReader(SaveBytes(badFlags)), CpuState.Vmsd.Version));
        Assert.Throws<VmStateException>(() => CpuState.Vmsd.Load(new ByteStateReader(SaveBytes(m.Cpu.Save())), CpuState.Vmsd.Version + 1));
    }

    [Fact]
    public void AVersionOneStateWithoutNmiBlockedLoadsUnblocked()
    {
        // Version 2 appended nmi_blocked (one byte) after fpregs: a version-1 section is the same bytes without it.
        using var m = new CpuTestMachine();
        byte[] v2 = SaveBytes(m.Cpu.Save() with { NmiBlocked = true });
        CpuState loaded = CpuState.Vmsd.Load(new ByteStateReader(v2.AsMemory(0, v2.Length - 1)), 1);
        Assert.False(loaded.NmiBlocked);
        Assert.True(CpuState.Vmsd.Load(new ByteStateReader(v2), 2).NmiBlocked);
    }
}
