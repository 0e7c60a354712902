using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Emu.UnitTests.Cpu.TierFuzz;

/// <summary>
/// Random 32-bit guest code for the tier 1 / tier 2 differential fuzzer: ALU with register, immediate and memory
/// operands, INC/DEC/NEG/NOT, shifts and rotates, multiply and divide (#DE), string ops, stack ops, SETcc/CMOVcc and
/// bit ops, forward conditional branches, counted loops (one block that branches to itself, or two that chain) and faulting accesses
/// (#PF on a not-present page and across into it, #UD, INT3). EBX points at the data pages and is never a random
/// destination, nor are ESI/EDI/EBP/ESP, so every access lands in the data, the stack or the hole page.
/// </summary>
internal sealed class RandomInstructionSequence
{
    /// <summary>Three present data pages; the page after them is not present.</summary>
    public const uint DataBase = 0x10_0000;
    public const uint DataBytes = 0x3000;

    private static readonly AssemblerRegister32[] Destinations = [eax, ecx, edx];
    private static readonly AssemblerRegister32[] Sources = [eax, ecx, edx, ebx, esp, ebp, esi, edi];
    private static readonly AssemblerRegister8[] Bytes = [al, cl, dl, bl];

    private readonly Assembler _a;
    private readonly Random _r;
    private readonly Dictionary<int, Label> _forwardTargets = new();
    private int _item;

    private RandomInstructionSequence(Assembler a, Random r)
    {
        _a = a;
        _r = r;
    }

    /// <summary>Emits <paramref name="items"/> random items (an item is one to a few instructions), then HLT.</summary>
    public static void Emit(Assembler a, Random r, int items)
    {
        var s = new RandomInstructionSequence(a, r);
        for (s._item = 0; s._item < items; s._item++)
        {
            s.BindTargetHere();
            s.EmitItem(items);
        }

        // Targets at or past the end: one NOP each, since an instruction carries at most one label.
        foreach (int pending in s._forwardTargets.Keys.Order().ToList())
        {
            Label l = s._forwardTargets[pending];
            a.Label(ref l);
            a.nop();
        }

        a.hlt();
    }

    private void BindTargetHere()
    {
        if (_forwardTargets.Remove(_item, out Label l))
        {
            _a.Label(ref l);
        }
    }

    private AssemblerRegister32 Dst => Destinations[_r.Next(Destinations.Length)];

    private AssemblerRegister32 Src => Sources[_r.Next(Sources.Length)];

    private uint Imm() => _r.Next(4) switch
    {
        0 => (uint)_r.Next(-128, 128),
        1 => (uint)_r.Next(0, 64),
        2 => 0x8000_0000u >> _r.Next(32),
        _ => (uint)_r.Next() ^ ((uint)_r.Next(2) << 31),
    };

    /// <summary>A dword operand in the data pages or the stack; now and then in or across into the hole page (#PF).</summary>
    private AssemblerMemoryOperand Mem()
    {
        int d = _r.Next(0x2FF0) & (_r.Next(4) == 0 ? ~0 : ~3);
        return _r.Next(24) switch
        {
            0 => __dword_ptr[ebx + 0x3000 + _r.Next(0x40)],
            1 => __dword_ptr[ebx + 0x2FFD + _r.Next(3)],
            < 6 => __dword_ptr[esi + _r.Next(-0x100, 0x100)],
            < 8 => __dword_ptr[esp + _r.Next(0, 0x40)],
            < 11 => __dword_ptr[ebx + ebp * 4 + (d & 0xFFF)],
            _ => __dword_ptr[ebx + d],
        };
    }

    private void EmitItem(int items)
    {
        AssemblerRegister32 d = Dst;
        switch (_r.Next(40))
        {
            case < 6: Alu(_r.Next(9), d, Src); break;
            case < 10: AluImm(_r.Next(9), d, Imm()); break;
            case < 12: AluMem(_r.Next(9), d); break;
            case 12: AluToMem(_r.Next(9)); break;
            case 13: UnaryOp(d); break;
            case < 17: Move(d); break;
            case < 19: Shift(d); break;
            case 19: MulDiv(d); break;
            case 20: StringOp(); break;
            case 21: Stack(d); break;
            case 22: Misc(d); break;
            case < 27: ForwardBranch(items); break;
            case 27: Loop(d); break;
            case 28: Fault(); break;
            case < 31: _a.mov(Mem(), Src); break;
            case 31: _a.mov(__byte_ptr[ebx + _r.Next(0x2FFF)], Bytes[_r.Next(4)]); break;
            case 32: _a.movzx(d, __byte_ptr[ebx + _r.Next(0x2FFF)]); break;
            case 33: _a.lea(d, __dword_ptr[ebx + ebp * 8 + _r.Next(0x1000)]); break;
            case 34: _a.inc(d); break;
            case 35: _a.dec(d); break;
            case 36: _a.mov(d, Mem()); break;
            default: _a.cmp(d, _r.Next(2) == 0 ? Imm() : 0); break;
        }
    }

    private void Alu(int op, AssemblerRegister32 d, AssemblerRegister32 s)
    {
        switch (op)
        {
            case 0: _a.add(d, s); break;
            case 1: _a.sub(d, s); break;
            case 2: _a.xor(d, s); break;
            case 3: _a.and(d, s); break;
            case 4: _a.or(d, s); break;
            case 5: _a.cmp(d, s); break;
            case 6: _a.test(d, s); break;
            case 7: _a.adc(d, s); break;
            default: _a.sbb(d, s); break;
        }
    }

    private void AluImm(int op, AssemblerRegister32 d, uint imm)
    {
        int i = unchecked((int)imm);
        switch (op)
        {
            case 0: _a.add(d, i); break;
            case 1: _a.sub(d, i); break;
            case 2: _a.xor(d, i); break;
            case 3: _a.and(d, i); break;
            case 4: _a.or(d, i); break;
            case 5: _a.cmp(d, i); break;
            case 6: _a.test(d, i); break;
            case 7: _a.adc(d, i); break;
            default: _a.sbb(d, i); break;
        }
    }

    private void AluMem(int op, AssemblerRegister32 d)
    {
        AssemblerMemoryOperand m = Mem();
        switch (op)
        {
            case 0: _a.add(d, m); break;
            case 1: _a.sub(d, m); break;
            case 2: _a.xor(d, m); break;
            case 3: _a.and(d, m); break;
            case 4: _a.or(d, m); break;
            case 5: _a.cmp(d, m); break;
            case 6: _a.test(m, d); break;
            case 7: _a.adc(d, m); break;
            default: _a.sbb(d, m); break;
        }
    }

    private void AluToMem(int op)
    {
        AssemblerMemoryOperand m = Mem();
        AssemblerRegister32 s = Src;
        switch (op)
        {
            case 0: _a.add(m, s); break;
            case 1: _a.sub(m, s); break;
            case 2: _a.xor(m, s); break;
            case 3: _a.and(m, s); break;
            case 4: _a.or(m, s); break;
            case 5: _a.cmp(m, s); break;
            case 6: _a.add(m, unchecked((int)Imm())); break;
            case 7: _a.adc(m, s); break;
            default: _a.sbb(m, s); break;
        }
    }

    private void UnaryOp(AssemblerRegister32 d)
    {
        switch (_r.Next(4))
        {
            case 0: _a.neg(d); break;
            case 1: _a.not(d); break;
            case 2: _a.inc(__dword_ptr[ebx + _r.Next(0x2FFC)]); break;
            default: _a.dec(__dword_ptr[ebx + _r.Next(0x2FFC)]); break;
        }
    }

    private void Move(AssemblerRegister32 d)
    {
        switch (_r.Next(6))
        {
            case 0: _a.mov(d, Src); break;
            case 1: _a.mov(d, Imm()); break;
            case 2: _a.mov(d, Mem()); break;
            case 3: _a.mov(Mem(), unchecked((int)Imm())); break;
            case 4: _a.movsx(d, __word_ptr[ebx + _r.Next(0x2FFE)]); break;
            default: _a.mov(__word_ptr[ebx + _r.Next(0x2FFE)], d == eax ? ax : d == ecx ? cx : dx); break;
        }
    }

    private void Shift(AssemblerRegister32 d)
    {
        int count = _r.Next(3) == 0 ? _r.Next(34) : _r.Next(1, 32);
        switch (_r.Next(9))
        {
            case 0: _a.shl(d, (byte)count); break;
            case 1: _a.shr(d, (byte)count); break;
            case 2: _a.sar(d, (byte)count); break;
            case 3: _a.rol(d, (byte)count); break;
            case 4: _a.ror(d, (byte)count); break;
            case 5: _a.rcl(d, (byte)count); break;
            case 6: _a.rcr(d, (byte)count); break;
            case 7: _a.shl(d, cl); break;
            default: _a.sar(d, cl); break;
        }
    }

    private void MulDiv(AssemblerRegister32 d)
    {
        switch (_r.Next(7))
        {
            case 0: _a.mul(ecx); break;
            case 1: _a.imul(edx); break;
            case 2: _a.div(ecx); break;
            case 3: _a.idiv(ecx); break;
            case 4: _a.div(Mem()); break;
            case 5: _a.imul(d, Src); break;
            default: _a.imul(d, Src, unchecked((int)Imm())); break;
        }
    }

    /// <summary>A string op over a few bytes or dwords inside the data pages, either direction.</summary>
    private void StringOp()
    {
        _a.lea(esi, __dword_ptr[ebx + 0x400 + _r.Next(0x2000)]);
        _a.lea(edi, __dword_ptr[ebx + 0x400 + _r.Next(0x2000)]);
        _a.and(ecx, 0x3F);
        if (_r.Next(2) == 0)
        {
            _a.std();
        }
        else
        {
            _a.cld();
        }

        switch (_r.Next(7))
        {
            case 0: _a.rep.movsb(); break;
            case 1: _a.rep.movsd(); break;
            case 2: _a.rep.stosd(); break;
            case 3: _a.lodsd(); break;
            case 4: _a.repe.cmpsb(); break;
            case 5: _a.repne.scasd(); break;
            default: _a.movsd(); break;
        }

        _a.cld();
    }

    private void Stack(AssemblerRegister32 d)
    {
        switch (_r.Next(4))
        {
            case 0:
                _a.push(Src);
                _a.pop(d);
                break;
            case 1:
                _a.push(unchecked((int)Imm()));
                _a.pop(d);
                break;
            case 2:
                {
                    // CALL to the next instruction, then take the return address (a block ending in CALL, one starting after).
                    Label next = _a.CreateLabel();
                    _a.call(next);
                    _a.Label(ref next);
                    _a.pop(d);
                    break;
                }

            default:
                _a.pushfd();
                _a.pop(d);
                break;
        }
    }

    private void Misc(AssemblerRegister32 d)
    {
        switch (_r.Next(12))
        {
            case 0: _a.setne(__byte_ptr[ebx + _r.Next(0x2FFF)]); break;
            case 1: _a.cmovl(d, Src); break;
            case 2: _a.bt(d, Src); break;
            case 3: _a.bts(d, (byte)_r.Next(32)); break;
            case 4: _a.bsf(d, Src); break;
            case 5: _a.xchg(d, Dst); break;
            case 6: _a.cdq(); break;
            case 7: _a.bswap(d); break;
            case 8: _a.cmc(); break;
            case 9: _a.stc(); break;
            case 10: _a.xadd(__dword_ptr[ebx + _r.Next(0x2FFC)], d); break;
            default: _a.sahf(); break;
        }
    }

    /// <summary>Jcc or JMP to an item a few ahead (or past the end).</summary>
    private void ForwardBranch(int items)
    {
        int target = _item + 1 + _r.Next(1, 6);
        if (!_forwardTargets.TryGetValue(target, out Label l))
        {
            l = _a.CreateLabel();
            _forwardTargets[target] = l;
        }

        switch (_r.Next(9))
        {
            case 0: _a.jmp(l); break;
            case 1: _a.je(l); break;
            case 2: _a.jne(l); break;
            case 3: _a.jb(l); break;
            case 4: _a.jbe(l); break;
            case 5: _a.jl(l); break;
            case 6: _a.jg(l); break;
            case 7: _a.js(l); break;
            default: _a.jo(l); break;
        }
    }

    /// <summary>
    /// A counted loop of a few straight-line items: a block whose JNZ goes back to its own start, or (half the time)
    /// two blocks split by a JMP to the next instruction, so tier 2 chains one compiled block into the other.
    /// </summary>
    private void Loop(AssemblerRegister32 d)
    {
        _a.mov(ebp, (uint)_r.Next(1, 40));
        Label top = _a.CreateLabel();
        _a.Label(ref top);
        int body = _r.Next(1, 5);
        int splitAt = _r.Next(2) == 0 ? _r.Next(body + 1) : -1;
        for (int k = 0; k <= body; k++)
        {
            if (k == splitAt)
            {
                Label next = _a.CreateLabel();
                _a.jmp(next);
                _a.Label(ref next);
            }

            if (k == body)
            {
                break;
            }

            switch (_r.Next(6))
            {
                case 0: Alu(_r.Next(9), d, Src); break;
                case 1: AluImm(_r.Next(9), Dst, Imm()); break;
                case 2: _a.mov(Dst, Mem()); break;
                case 3: _a.mov(Mem(), Src); break;
                case 4: Shift(Dst); break;
                default: _a.add(__dword_ptr[ebx + ebp * 4 + 0x100], Dst); break;
            }
        }

        _a.dec(ebp);
        _a.jnz(top);
    }

    private void Fault()
    {
        switch (_r.Next(4))
        {
            case 0: _a.ud2(); break;
            case 1: _a.int3(); break;
            case 2: _a.mov(eax, __dword_ptr[ebx + 0x3000]); break;
            default: _a.mov(__dword_ptr[ebx + 0x2FFE], eax); break;
        }
    }
}
