using Emu.Machine.Cpu.Tlb;

namespace Emu.Machine.Cpu;

/// <summary>
/// Linear to physical translation for the instruction handlers: the walk is the MMU's (<see cref="Mmu"/>); a walk
/// that fails becomes #PF here, with CR2 and the error code.
/// </summary>
public sealed partial class X86Cpu
{
    /// <summary>
    /// Translates one linear address, raising #PF when the walk faults. <paramref name="dirtyOk"/> says a write may go
    /// straight to the page from now on (no paging, or the D bit is set); false from a read.
    /// </summary>
    internal bool Translate(uint lin, bool write, bool user, out uint gpa, out bool dirtyOk)
    {
        if (_tlb.TryTranslate(lin, write, user, Paging, out gpa, out dirtyOk, out uint error))
        {
            return true;
        }

        RaisePageFault(lin, error);
        return false;
    }

    private void RaisePageFault(uint lin, uint error)
    {
        _cr2 = lin;
        RaiseFault(ExceptionPf, error);
    }
}
