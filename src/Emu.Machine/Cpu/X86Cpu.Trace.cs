using System.Globalization;
using System.Text;
using Emu.Machine.Cpu.Cache;
using Emu.Machine.Diagnostics;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>
/// QEMU's <c>-d</c> items as the CPU produces them: <c>int</c> (each delivery, in QEMU's line format),
/// <c>cpu_reset</c>, <c>in_asm</c> (each block as translated, GNU syntax as QEMU prints it) and <c>exec</c>
/// (each block as it starts). Off, each costs one flag test.
/// </summary>
public sealed partial class X86Cpu
{
    private GasFormatter? _traceFormatter;

    /// <summary>The trace this CPU writes to (QEMU's -d items).</summary>
    public GuestTrace Trace { get; set; } = GuestTrace.Off;

    private void TraceInterrupt(int vector, InterruptSource source, uint error, uint returnEip)
    {
        uint cs = _seg[SegCs].Selector;
        Trace.Write(string.Create(CultureInfo.InvariantCulture,
            $"{_interruptsDelivered,6}: v={vector:x2} e={error:x4} i={(source == InterruptSource.Software ? 1 : 0)} cpl={_cpl} IP={cs:x4}:{returnEip:x8} pc={_seg[SegCs].Base + returnEip:x8} SP={_seg[SegSs].Selector:x4}:{_gpr[RegEsp]:x8} EAX={_gpr[RegEax]:x8}\n"));
    }

    private void TraceReset() =>
        Trace.Write("CPU Reset (CPU 0)\n" + FormatRegisters(Save()));

    private void TraceTranslated(DecodedBlock block)
    {
        _traceFormatter ??= new GasFormatter { Options = { UppercaseHex = false } };
        var b = new StringBuilder("----------------\nIN: \n");
        var output = new StringOutput();
        for (int i = 0; i < block.Count; i++)
        {
            ref readonly Instruction ins = ref block.Instructions[i];
            _traceFormatter.Format(in ins, output);
            b.Append(CultureInfo.InvariantCulture, $"0x{_seg[SegCs].Base + ins.IP32:x8}:  {output.ToStringAndReset()}\n");
        }

        Trace.Write(b.Append('\n').ToString());
    }

    private void TraceExec() =>
        Trace.Write(string.Create(CultureInfo.InvariantCulture, $"Trace 0: [{_seg[SegCs].Base:x8}/{_eip:x8}/{_seg[SegCs].Selector:x4}/{GetEflags():x8}]\n"));
}
