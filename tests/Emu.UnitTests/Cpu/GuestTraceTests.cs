using Emu.Machine.Cpu;
using Emu.Machine.Diagnostics;
using Emu.Machine.Io;
using static Emu.UnitTests.Cpu.ProtectedModeTests;

namespace Emu.UnitTests.Cpu;

/// <summary>QEMU's -d items as Emu writes them, and the once-only reports of unimplemented instructions and unclaimed ports.</summary>
public sealed class GuestTraceTests
{
    [Fact]
    public void AnUnimplementedInstructionIsReportedOnceAndRaisesUd()
    {
        var warnings = new List<string>();
        var trace = new StringWriter();
        using CpuTestMachine m = Build();
        m.Cpu.Trace = new GuestTrace(TraceItems.Unimp, trace) { Warn = warnings.Add };
        Gate(m, 6, Handler, 0);
        // The #UD handler counts in [Result] and returns past the 2-byte instruction; 0F 33 = rdpmc, twice.
        m.Memory.LoadImage(Handler, [0xFF, 0x05, .. BitConverter.GetBytes(Result), 0x83, 0x04, 0x24, 0x02, 0xCF]); // inc dword [Result]; add dword [esp], 2; iret
        m.Memory.LoadImage(Code, [0x0F, 0x33, 0x0F, 0x33, 0xF4]);
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        Assert.Equal(2u, m.Memory.ReadU32(Result));
        string warning = Assert.Single(warnings);
        Assert.Equal("unimplemented instruction at 0008:00100000: rdpmc (raised #UD)", warning);
        Assert.Equal(warning + "\n", trace.ToString());
    }

    [Fact]
    public void AnUnclaimedPortIsReportedOncePerDirection()
    {
        var infos = new List<string>();
        var bus = new IoBus { Trace = new GuestTrace(TraceItems.None, TextWriter.Null) { Info = infos.Add } };
        Assert.Equal(0xFFu, bus.Read(0x87, 1));
        bus.Read(0x87, 1);
        bus.Write(0x80, 1, 0x12);
        bus.Write(0x80, 1, 0x34);
        Assert.Equal(["unassigned io read: port 0x0087 size 1", "unassigned io write: port 0x0080 size 1 value 0x12"], infos);
    }

    [Fact]
    public void IntAndInAsmWriteQemusLines()
    {
        var trace = new StringWriter();
        using CpuTestMachine m = Build();
        m.Cpu.Trace = new GuestTrace(TraceItems.Int | TraceItems.InAsm, trace);
        Gate(m, 3, Handler, 0);
        m.Memory.LoadImage(Handler, [0xF4]);
        m.Memory.LoadImage(Code, [0xB8, 0x2A, 0, 0, 0, 0xCC]); // mov eax, 42; int3
        Assert.Equal(CpuExitKind.Halted, m.RunToHalt());

        string text = trace.ToString();
        Assert.Contains("IN: \n0x00100000:  mov $0x2a,%eax\n0x00100005:  int3\n", text);
        Assert.Contains("     1: v=03 e=0000 i=1 cpl=0 IP=0008:00100006 pc=00100006 SP=0010:", text);
    }

    [Theory]
    [InlineData("int,unimp", TraceItems.Int | TraceItems.Unimp)]
    [InlineData("in_asm,exec,cpu_reset,guest_errors", TraceItems.InAsm | TraceItems.Exec | TraceItems.CpuReset | TraceItems.GuestErrors)]
    public void ItemsParseByQemusNames(string list, TraceItems expected) => Assert.Equal(expected, GuestTrace.Parse(list, out _));

    [Fact]
    public void AnUnknownItemIsNamed()
    {
        Assert.Null(GuestTrace.Parse("int,mmu", out string error));
        Assert.Equal("unknown log item 'mmu' (int, cpu_reset, guest_errors, unimp, in_asm, exec)", error);
    }
}
