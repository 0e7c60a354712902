using Emu.Machine.Cpu;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu;

public sealed class SelfModifyingCodeTests
{
    internal const uint Code = 0x10_0000;

    [Fact]
    public void StoreIntoTheRunningBlockRunsTheNewCode()
    {
        using var m = new CpuTestMachine();

        // mov byte [imm], 'Z' patches the immediate of the very next instruction, inside the same block.
        byte[] probe = m.Load(32, Code, a =>
        {
            a.mov(__byte_ptr[0], (byte)0);
        });
        uint patchAt = Code + (uint)probe.Length + 1;
        m.Load(32, Code, a =>
        {
            a.mov(__byte_ptr[patchAt], (byte)'Z');
            a.mov(al, (byte)'Y');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("Z", m.Output);
    }

    [Fact]
    public void StoreIntoAnotherCachedBlockInvalidatesIt()
    {
        using var m = new CpuTestMachine();
        const uint routine = 0x10_2000;
        m.Load(32, routine, a =>
        {
            a.mov(al, (byte)'A');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.ret();
        });
        m.Load(32, Code, a =>
        {
            Label again = a.CreateLabel();
            a.mov(esp, 0x9000);
            a.mov(ecx, 3);
            a.Label(ref again);
            a.call(routine);
            a.inc(__byte_ptr[routine + 1]);
            a.dec(ecx);
            a.jnz(again);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        Assert.Equal("ABC", m.Output);
    }

    [Fact]
    public void DeviceWriteThroughTheAddressSpaceInvalidatesCode()
    {
        using var m = new CpuTestMachine();
        m.Load(32, Code, a =>
        {
            a.mov(al, (byte)'A');
            a.@out((byte)CpuTestMachine.DebugPort, al);
            a.hlt();
        });
        m.Cpu.EnterMultiboot(Code, 0, 0);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        // A DMA-style write of the immediate, then run the same code again.
        m.Memory.Write(Code + 1, 1, (byte)'D');
        m.Cpu.EnterMultiboot(Code, 0, 0);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        Assert.Equal("AD", m.Output);
    }

    [Fact]
    public void CpuStoresMarkPagesDirtyForMigration()
    {
        using var m = new CpuTestMachine();
        m.Ram.DirtyLog.Enable(Emu.Machine.Memory.DirtyClient.Migration, allDirty: false);
        m.Load(32, Code, a =>
        {
            a.mov(__dword_ptr[0x30_0000], 1);
            a.mov(__dword_ptr[0x30_0000], 2);
            a.mov(__dword_ptr[0x30_5000], 3);
            a.hlt();
        });
        m.Ram.DirtyLog.Sync(Emu.Machine.Memory.DirtyClient.Migration, new ulong[m.Ram.PageCount / 64 + 1]);
        m.Cpu.EnterMultiboot(Code, 0, 0);

        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());
        var bits = new ulong[m.Ram.PageCount / 64 + 1];
        long dirty = m.Ram.DirtyLog.Sync(Emu.Machine.Memory.DirtyClient.Migration, bits);
        Assert.Equal(2, dirty);
        Assert.True((bits[0x300 / 64] & (1UL << (0x300 % 64))) != 0);
        Assert.True((bits[0x305 / 64] & (1UL << (0x305 % 64))) != 0);

        // A store after the sync must be logged again (the TLB keeps no stale "already dirty" state).
        m.Load(32, Code, a =>
        {
            a.mov(__dword_ptr[0x30_0000], 4);
            a.hlt();
        });
        m.Ram.DirtyLog.Sync(Emu.Machine.Memory.DirtyClient.Migration, new ulong[bits.Length]);
        m.Cpu.EnterMultiboot(Code, 0, 0);
        m.RunToHalt();
        Assert.Equal(1, m.Ram.DirtyLog.Sync(Emu.Machine.Memory.DirtyClient.Migration, new ulong[bits.Length]));
    }
}
