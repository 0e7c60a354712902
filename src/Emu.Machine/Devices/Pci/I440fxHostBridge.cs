using Emu.Machine.Memory;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// The i440FX host bridge at 00:00.0 (8086:1237, QEMU's "i440FX"): the PAM registers 0x59–0x5F that shadow
/// 0xC0000–0xFFFFF, and the SMRAM register 0x72 (present with its reset value; Emu has no SMM, so it opens nothing).
/// </summary>
public sealed class I440fxHostBridge : PciFunction
{
    public const int Pam0 = 0x59, Smram = 0x72;

    private readonly PamWindow[] _windows;

    public I440fxHostBridge(AddressSpace memory, RamBlock ram, Func<ulong, int, ulong> readRom)
        : base("i440FX", device: 0, function: 0, BuildConfig())
    {
        var windows = new List<PamWindow> { new(memory, ram, 0xF0000, 0x10000, readRom) };
        for (ulong gpa = 0xC0000; gpa < 0xF0000; gpa += 0x4000)
        {
            windows.Add(new PamWindow(memory, ram, gpa, 0x4000, readRom));
        }

        _windows = [.. windows];
        ConfigChanged();
    }

    private static PciConfigSpace BuildConfig()
    {
        var c = new PciConfigSpace(0x8086, 0x1237, revision: 0x02, classCode: 0x06, subClass: 0x00, progIf: 0x00);
        c.Writable(Pam0, 1, 0x30);            // PAM0's low nibble is reserved
        for (int i = 1; i <= 6; i++)
        {
            c.Writable(Pam0 + i, 1, 0x33);
        }

        c.SetU8(Smram, 0x02);
        c.Writable(Smram, 1, 0x78);
        return c;
    }

    /// <summary>The mode of the segment holding <paramref name="gpa"/> (tests, diagnostics).</summary>
    public int PamMode(ulong gpa) => _windows.First(w => gpa >= w.Gpa && gpa < w.Gpa + w.Size).Mode;

    protected override void ConfigWritten(int offset, int size)
    {
        if (Touches(offset, size, Pam0, 7))
        {
            ConfigChanged();
        }
    }

    protected override void ConfigChanged()
    {
        // PAM0 bits 5:4 → 0xF0000; PAM1–6: low nibble the first 16 KiB, high nibble the second.
        _windows[0].SetMode((Config.U8(Pam0) >> 4) & 3);
        for (int i = 0; i < 12; i++)
        {
            byte reg = Config.U8(Pam0 + 1 + (i / 2));
            _windows[1 + i].SetMode((i & 1) == 0 ? reg & 3 : (reg >> 4) & 3);
        }
    }
}
