using Emu.Machine.Cpu.Cache;
using Emu.Machine.Cpu.Translation;
using Emu.Machine.Memory;

namespace Emu.Machine.Cpu;

/// <summary>
/// The translation pipeline (QEMU tb_gen_code): find the physical address of CS:EIP, look the block up by
/// address and code size, otherwise translate it (<see cref="BlockTranslator"/>: decode, lower, flag liveness),
/// protect the code pages (CODE dirty client) and insert the block.
/// </summary>
public sealed unsafe partial class X86Cpu
{
    private readonly List<RamBlock> _codeBlocks = new();
    private readonly BlockTranslator _translator;

    /// <summary>Blocks translated since creation (a statistic).</summary>
    public long Translations => _blocks.Translations;

    /// <summary>
    /// An instruction fetch's physical address; a fault is raised only when <paramref name="raise"/> (a lookahead
    /// fetch does not keep it: the instruction faults when it runs first).
    /// </summary>
    private bool TranslateCode(uint lin, bool raise, out uint gpa)
    {
        if (_tlb.TryTranslateCode(lin, _mmu, Paging, out gpa, out uint error))
        {
            return true;
        }

        if (raise)
        {
            RaisePageFault(lin, error);
        }

        return false;
    }

    /// <summary>One code byte for the translator, or -1 (with the fault raised only when <paramref name="raise"/>).</summary>
    private int FetchCodeByte(uint lin, bool raise)
    {
        int b = _tlb.FetchCodeByte(lin, _mmu, Paging, out uint error);
        if (b < 0 && raise)
        {
            RaisePageFault(lin, error);
        }

        return b;
    }

    /// <summary>The block at CS:EIP, translating it on a miss; null with a fault pending when the fetch faults.</summary>
    private DecodedBlock? FindBlock()
    {
        if (_eip > _seg[SegCs].Limit && ProtectedMode)
        {
            RaiseFault(ExceptionGp, 0);
            return null;
        }

        uint lin = _seg[SegCs].Base + _eip;
        if (!TranslateCode(lin, raise: true, out uint gpa))
        {
            return null;
        }

        ulong key = ((ulong)gpa << 1) | (_code32 ? 1UL : 0);
        DecodedBlock? b = _blocks.Lookup(key);
        if (b != null)
        {
            if (b.Page1Gpa == ulong.MaxValue)
            {
                return b;
            }

            uint next = (lin & 0xFFFF_F000) + 0x1000;
            if (TranslateCode(next, raise: false, out uint gpa1) && (gpa1 & 0xFFFF_F000) == b.Page1Gpa)
            {
                return b;
            }
        }

        return TranslateBlock(lin, gpa, key);
    }

    private DecodedBlock? TranslateBlock(uint lin, uint gpa, ulong key)
    {
        switch (_translator.Translate(_seg[SegCs].Base, _eip, _code32, out DecodedRun run))
        {
            case TranslationOutcome.FetchFaulted:
                return null;
            case TranslationOutcome.InstructionTooLong:
                // 15 bytes did not make an instruction: #GP as the manual says for over-long instructions.
                RaiseFault(ExceptionGp, 0);
                return null;
        }

        long pageKey0 = ProtectCodePage(gpa);
        long pageKey1 = -1;
        ulong page1 = ulong.MaxValue;
        uint pageEnd = (lin & 0xFFFF_F000) + 0x1000;
        if (run.CrossesPage && TranslateCode(pageEnd, raise: false, out uint gpa1))
        {
            page1 = gpa1 & 0xFFFF_F000;
            pageKey1 = ProtectCodePage(gpa1);
        }

        var block = new DecodedBlock(key, in run, pageKey0, pageKey1, page1);
        _blocks.Insert(block);
        if (Trace.Has(Diagnostics.TraceItems.InAsm))
        {
            TraceTranslated(block);
        }

        return block;
    }

    /// <summary>Marks the RAM page under <paramref name="gpa"/> as holding code; returns its page key or -1 (not RAM).</summary>
    private long ProtectCodePage(uint gpa)
    {
        if (!_memory.TryGetRamPage(gpa, write: false, out RamBlock block, out int pageIndex, out _))
        {
            return -1;
        }

        int ordinal = _codeBlocks.IndexOf(block);
        if (ordinal < 0)
        {
            ordinal = _codeBlocks.Count;
            _codeBlocks.Add(block);
            int captured = ordinal;
            block.DirtyLog.CodePageWritten += page => OnCodePageWritten(captured, page);
        }

        block.DirtyLog.ProtectCode(pageIndex);
        return ((long)ordinal << 32) | (uint)pageIndex;
    }

    /// <summary>
    /// QEMU tb_invalidate_phys_page: a store (from this CPU or a device) hit a page with translated code. Drops the
    /// page's blocks; when the running block is among them it ends after the current instruction.
    /// </summary>
    private void OnCodePageWritten(int ordinal, int pageIndex)
    {
        long key = ((long)ordinal << 32) | (uint)pageIndex;
        _blocks.InvalidatePage(key);
        DecodedBlock? current = _currentBlock;
        if (current != null && (current.PageKey0 == key || current.PageKey1 == key))
        {
            _blockExit = true;
        }
    }
}
