using System.Diagnostics.CodeAnalysis;
using System.Numerics;

namespace Emu.Machine.Devices.Apic;

/// <summary>
/// One of the local APIC's 256-bit vector registers (IRR, ISR, TMR): eight 32-bit words as the guest reads them
/// at offsets 0x100/0x180/0x200 + 0x10 × word.
/// </summary>
internal struct ApicVectorSet
{
    private ulong _w0, _w1, _w2, _w3;

    public readonly bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

    public void Set(int vector) => Word(vector >> 6) |= 1UL << (vector & 63);

    public void Clear(int vector) => Word(vector >> 6) &= ~(1UL << (vector & 63));

    public readonly bool Contains(int vector) => ((ReadWord(vector >> 6) >> (vector & 63)) & 1) != 0;

    /// <summary>The highest vector in the set, or -1.</summary>
    public readonly int Highest() =>
        _w3 != 0 ? 192 + 63 - BitOperations.LeadingZeroCount(_w3)
        : _w2 != 0 ? 128 + 63 - BitOperations.LeadingZeroCount(_w2)
        : _w1 != 0 ? 64 + 63 - BitOperations.LeadingZeroCount(_w1)
        : _w0 != 0 ? 63 - BitOperations.LeadingZeroCount(_w0)
        : -1;

    /// <summary>The 32-bit register at index 0–7 (vectors 32·i to 32·i + 31).</summary>
    public readonly uint Register(int index) => (uint)(ReadWord(index >> 1) >> (32 * (index & 1)));

    public readonly uint[] ToRegisters()
    {
        var r = new uint[8];
        for (int i = 0; i < 8; i++)
        {
            r[i] = Register(i);
        }

        return r;
    }

    public static ApicVectorSet FromRegisters(uint[] registers)
    {
        var s = default(ApicVectorSet);
        for (int i = 0; i < 8; i++)
        {
            s.Word(i >> 1) |= (ulong)registers[i] << (32 * (i & 1));
        }

        return s;
    }

    private readonly ulong ReadWord(int i) => i switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };

    [UnscopedRef]
    private ref ulong Word(int i)
    {
        switch (i)
        {
            case 0: return ref _w0;
            case 1: return ref _w1;
            case 2: return ref _w2;
            default: return ref _w3;
        }
    }
}
