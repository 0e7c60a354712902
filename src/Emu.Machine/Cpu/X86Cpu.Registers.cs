using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Emu.Machine.Cpu.State;
using Iced.Intel;

namespace Emu.Machine.Cpu;

/// <summary>The register file's views and the Iced register mapping (the registers themselves are <see cref="ArchState"/>).</summary>
public sealed partial class X86Cpu
{
    internal const int RegEax = 0, RegEcx = 1, RegEdx = 2, RegEbx = 3, RegEsp = 4, RegEbp = 5, RegEsi = 6, RegEdi = 7;
    internal const int SegEs = 0, SegCs = 1, SegSs = 2, SegDs = 3, SegFs = 4, SegGs = 5;

    internal const uint Cr0Pe = 1, Cr0Mp = 2, Cr0Em = 4, Cr0Ts = 8, Cr0Et = 0x10, Cr0Ne = 0x20, Cr0Wp = 0x1_0000, Cr0Am = 0x4_0000, Cr0Pg = 0x8000_0000;
    internal const uint Cr4Vme = 1, Cr4Pvi = 2, Cr4Tsd = 4, Cr4De = 8, Cr4Pse = 0x10, Cr4Pae = 0x20, Cr4Pge = 0x80;

    /// <summary>
    /// CPUID leaf 1 EAX: family 6 model 1 stepping 9, a Pentium Pro (P6 with CMOV and no MMX, as Emu; stepping 9
    /// is past the steppings Linux treats for errata); reset also leaves it in EDX.
    /// </summary>
    internal const uint CpuidSignature = 0x0000_0619;

    /// <summary>
    /// CPUID leaf 1 EDX: exactly what Emu implements: FPU (0), PSE (3), TSC (4), MSR (5), PAE (6), CX8 (8), CMOV (15).
    /// APIC (9) is added when the CPU has one (<see cref="CpuidApic"/>). No VME, DE, PGE, MMX, FXSR or SSE; the encodings later features took (TZCNT, LZCNT, ENDBR) decode as
    /// the instructions a CPU without them runs.
    /// </summary>
    internal const uint CpuidFeatures = (1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 15);

    /// <summary>CPUID.1:EDX bit 9, set when the CPU has a local APIC.</summary>
    internal const uint CpuidApic = 1u << 9;

    private static readonly RegisterInfo[] s_registers = BuildRegisterTable();

    /// <summary>Micro-op register number that reads as zero (the ninth of <see cref="ArchState._gpr"/>).</summary>
    internal const byte NoRegister = 8;

    /// <summary>EIP of the next instruction; branch handlers overwrite it.</summary>
    internal uint _nextEip;

    internal bool ProtectedMode => (_cr0 & Cr0Pe) != 0;

    internal bool Vm86 => (_eflags & FlagVm) != 0;

    /// <summary>Recomputes the cached mode bits after CR0, CS, SS or EFLAGS.VM changed (QEMU hflags).</summary>
    internal void UpdateMode()
    {
        bool pm = ProtectedMode;
        _code32 = pm && !Vm86 && _seg[SegCs].Big;
        _stack32 = pm && !Vm86 && _seg[SegSs].Big;
        _cpl = !pm ? 0 : Vm86 ? 3 : _cpl;
        SetMmuIndex();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ref uint Gpr(int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_gpr), index);

    /// <summary>Reads a general register (8/16/32-bit, AH..BH included), zero-extended.</summary>
    internal uint ReadReg(Register reg)
    {
        RegisterInfo r = s_registers[(int)reg];
        uint v = Gpr(r.Index);
        return r.Size switch
        {
            1 => (v >> r.Shift) & 0xFF,
            2 => v & 0xFFFF,
            _ => v,
        };
    }

    internal void WriteReg(Register reg, uint value)
    {
        RegisterInfo r = s_registers[(int)reg];
        ref uint g = ref Gpr(r.Index);
        switch (r.Size)
        {
            case 1:
                g = (g & ~(0xFFu << r.Shift)) | ((value & 0xFF) << r.Shift);
                break;
            case 2:
                g = (g & 0xFFFF_0000) | (value & 0xFFFF);
                break;
            default:
                g = value;
                break;
        }
    }

    internal static int RegSize(Register reg) => s_registers[(int)reg].Size;

    internal static int RegIndex(Register reg) => s_registers[(int)reg].Index;

    internal static bool IsGpr(Register reg) => s_registers[(int)reg].Size != 0;

    private static RegisterInfo[] BuildRegisterTable()
    {
        var table = new RegisterInfo[Enum.GetValues<Register>().Length + 1];
        foreach (Register r in Enum.GetValues<Register>())
        {
            if (r.IsGPR8() && r.GetNumber() < 8)
            {
                int n = r.GetNumber();
                table[(int)r] = new RegisterInfo((byte)(n & 3), 1, (byte)(n >= 4 ? 8 : 0));
            }
            else if (r.IsGPR16() && r.GetNumber() < 8)
            {
                table[(int)r] = new RegisterInfo((byte)r.GetNumber(), 2, 0);
            }
            else if (r.IsGPR32() && r.GetNumber() < 8)
            {
                table[(int)r] = new RegisterInfo((byte)r.GetNumber(), 4, 0);
            }
        }

        return table;
    }

    private readonly record struct RegisterInfo(byte Index, byte Size, byte Shift);
}
