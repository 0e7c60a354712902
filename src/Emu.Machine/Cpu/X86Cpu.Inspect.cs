using System.Globalization;
using System.Text;
using Emu.Machine.Cpu.State;

namespace Emu.Machine.Cpu;

/// <summary>
/// A person's view of the CPU (HMP's <c>info registers</c> and <c>x</c>, a debugger): linear addresses translated
/// without touching A/D bits or raising #PF, and the register file in QEMU's <c>x86_cpu_dump_state</c> layout.
/// Called from other threads; the values are a snapshot, consistent when the guest is stopped.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>The guest-physical address of <paramref name="linear"/> under the current paging mode, or null when unmapped.</summary>
    public ulong? TranslateForDebugger(uint linear) => _tlb.TranslateForDebugger(linear, Paging);

    /// <summary>The registers as QEMU's <c>info registers</c> prints them for a 32-bit CPU.</summary>
    public static string FormatRegisters(CpuState s)
    {
        var b = new StringBuilder();
        uint[] g = s.Gpr;
        uint f = s.Eflags;
        int cpl = (s.Cr0 & Cr0Pe) == 0 ? 0 : (f & FlagVm) != 0 ? 3 : (int)((s.SegFlags[SegSs] >> 13) & 3);
        b.Append(CultureInfo.InvariantCulture, $"EAX={g[RegEax]:x8} EBX={g[RegEbx]:x8} ECX={g[RegEcx]:x8} EDX={g[RegEdx]:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"ESI={g[RegEsi]:x8} EDI={g[RegEdi]:x8} EBP={g[RegEbp]:x8} ESP={g[RegEsp]:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"EIP={s.Eip:x8} EFL={f:x8} [{Flag(f, FlagOf, 'O')}{Flag(f, FlagDf, 'D')}{Flag(f, FlagSf, 'S')}{Flag(f, FlagZf, 'Z')}{Flag(f, FlagAf, 'A')}{Flag(f, FlagPf, 'P')}{Flag(f, FlagCf, 'C')}] CPL={cpl} II={(s.InterruptShadow ? 1 : 0)} A20=1 SMM=0 HLT={(s.Halted ? 1 : 0)}\n");
        string[] names = ["ES ", "CS ", "SS ", "DS ", "FS ", "GS "];
        for (int i = 0; i < 6; i++)
        {
            b.Append(CultureInfo.InvariantCulture, $"{names[i]}={s.SegSelector[i]:x4} {s.SegBase[i]:x8} {s.SegLimit[i]:x8} {s.SegFlags[i]:x8}\n");
        }

        b.Append(CultureInfo.InvariantCulture, $"LDT={s.LdtrSelector:x4} {s.LdtrBase:x8} {s.LdtrLimit:x8} {s.LdtrFlags:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"TR ={s.TrSelector:x4} {s.TrBase:x8} {s.TrLimit:x8} {s.TrFlags:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"GDT=     {s.GdtrBase:x8} {s.GdtrLimit:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"IDT=     {s.IdtrBase:x8} {s.IdtrLimit:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"CR0={s.Cr0:x8} CR2={s.Cr2:x8} CR3={s.Cr3:x8} CR4={s.Cr4:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"DR0={s.Dr[0]:x8} DR1={s.Dr[1]:x8} DR2={s.Dr[2]:x8} DR3={s.Dr[3]:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"DR6={s.Dr[6]:x8} DR7={s.Dr[7]:x8}\n");
        b.Append(CultureInfo.InvariantCulture, $"EFER={s.Efer:x16}\n");
        b.Append(CultureInfo.InvariantCulture, $"FCW={s.FpuControl:x4} FSW={s.FpuStatus:x4} [ST={(s.FpuStatus >> 11) & 7}] FTW={s.FpuTag:x4}\n");
        return b.ToString();
    }

    private static char Flag(uint eflags, uint flag, char letter) => (eflags & flag) != 0 ? letter : '-';
}
