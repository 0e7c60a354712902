using System.Globalization;

namespace Emu.Machine.Diagnostics;

/// <summary>QEMU's <c>-d</c> log items that help a guest author (names as QEMU's <c>-d help</c> lists them).</summary>
[Flags]
public enum TraceItems
{
    None = 0,

    /// <summary>Every interrupt and exception delivered (QEMU "int").</summary>
    Int = 1,

    /// <summary>CPU resets, with the registers before (QEMU "cpu_reset").</summary>
    CpuReset = 2,

    /// <summary>Guest mistakes: accesses to I/O ports nothing claims (QEMU "guest_errors").</summary>
    GuestErrors = 4,

    /// <summary>Instructions and devices Emu does not implement (QEMU "unimp").</summary>
    Unimp = 8,

    /// <summary>Each block as it is translated, disassembled (QEMU "in_asm").</summary>
    InAsm = 16,

    /// <summary>Each block as it runs (QEMU "exec").</summary>
    Exec = 32,
}

/// <summary>
/// Where <c>-d</c> trace lines go (stderr, or the <c>-D</c> file). Each item costs one flag test when it is off.
/// The unclaimed-port and unimplemented-instruction reports are made once per port and per opcode, and also
/// reach the log whether or not <c>-d</c> asked for them (a port at information level, as guests probe ports on
/// purpose; an instruction at warning level, as the guest gets #UD), so a guest that stops on either says why.
/// </summary>
public sealed class GuestTrace(TraceItems items, TextWriter output)
{
    /// <summary>Bit per port and direction (reads first, then writes) already reported.</summary>
    private readonly long[] _portsReported = new long[2 * 0x10000 / 64];

    /// <summary>Bit per Iced mnemonic already reported as unimplemented.</summary>
    private readonly long[] _mnemonicsReported = new long[(Enum.GetValues<Iced.Intel.Mnemonic>().Length + 63) / 64];
    private readonly object _writeLock = new();

    public static readonly GuestTrace Off = new(TraceItems.None, TextWriter.Null);

    public TraceItems Items { get; } = items;

    /// <summary>Called once per unclaimed port: the log's information line.</summary>
    public Action<string>? Info { get; init; }

    /// <summary>Called once per unimplemented instruction: the log's warning line.</summary>
    public Action<string>? Warn { get; init; }

    public bool Has(TraceItems item) => (Items & item) != 0;

    public void Write(string text)
    {
        lock (_writeLock)
        {
            output.Write(text);
            output.Flush();
        }
    }

    /// <summary>QEMU's item names, comma-separated, into flags; null with the unknown name in <paramref name="error"/>.</summary>
    public static TraceItems? Parse(string list, out string error)
    {
        error = "";
        TraceItems items = TraceItems.None;
        foreach (string name in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            TraceItems? item = name switch
            {
                "int" => TraceItems.Int,
                "cpu_reset" => TraceItems.CpuReset,
                "guest_errors" => TraceItems.GuestErrors,
                "unimp" => TraceItems.Unimp,
                "in_asm" => TraceItems.InAsm,
                "exec" => TraceItems.Exec,
                _ => null,
            };
            if (item == null)
            {
                error = $"unknown log item '{name}' (int, cpu_reset, guest_errors, unimp, in_asm, exec)";
                return null;
            }

            items |= item.Value;
        }

        return items;
    }

    /// <summary>An I/O port nothing claims (once per port and direction).</summary>
    public void UnclaimedPort(ushort port, int size, bool write, uint value)
    {
        // Guests write unclaimed ports on purpose (Linux's 0x80 delay): after the first, this costs one bit test.
        if (!FirstTime(_portsReported, (write ? 0x10000 : 0) + port))
        {
            return;
        }

        string line = write
            ? $"unassigned io write: port 0x{port:x4} size {size} value 0x{value:x}"
            : $"unassigned io read: port 0x{port:x4} size {size}";
        Info?.Invoke(line);
        if (Has(TraceItems.GuestErrors))
        {
            Write(line + "\n");
        }
    }

    /// <summary>
    /// An instruction the CPU does not implement, raised as #UD at <paramref name="cs"/>:<paramref name="eip"/>:
    /// reported once per mnemonic; the text is made only then.
    /// </summary>
    public void Unimplemented(in Iced.Intel.Instruction instruction, ushort cs, uint eip)
    {
        if (!FirstTime(_mnemonicsReported, (int)instruction.Mnemonic))
        {
            return;
        }

        string line = string.Create(CultureInfo.InvariantCulture, $"unimplemented instruction at {cs:x4}:{eip:x8}: {instruction.ToString()} (raised #UD)");
        Warn?.Invoke(line);
        if (Has(TraceItems.Unimp))
        {
            Write(line + "\n");
        }
    }

    /// <summary>Sets bit <paramref name="index"/>; true when this call set it.</summary>
    private static bool FirstTime(long[] bits, int index)
    {
        long mask = 1L << (index & 63);
        ref long word = ref bits[index >> 6];
        return (Volatile.Read(ref word) & mask) == 0 && (Interlocked.Or(ref word, mask) & mask) == 0;
    }
}
