namespace Emu.Display.Sdl;

/// <summary>
/// SDL scancodes (USB HID usage IDs) to PC/AT scan code set 1 make codes, as QEMU's qemu_input_map_usb_to_qcode
/// and qcode_to_number tables. Bit 8 marks an E0-prefixed (extended) key.
/// </summary>
public static class PcScancodes
{
    public const int Extended = 0x100;

    private static readonly ushort[] Set1 = Build();

    /// <summary>The set-1 make code for an SDL scancode; false for keys a PC keyboard does not have.</summary>
    public static bool TryMap(int sdlScancode, out int code, out bool extended)
    {
        ushort v = (uint)sdlScancode < (uint)Set1.Length ? Set1[sdlScancode] : (ushort)0;
        code = v & 0xFF;
        extended = (v & Extended) != 0;
        return v != 0;
    }

    private static ushort[] Build()
    {
        var t = new ushort[232];

        // Letters a–z are HID 4–29.
        ReadOnlySpan<byte> letters =
        [
            0x1E, 0x30, 0x2E, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32,
            0x31, 0x18, 0x19, 0x10, 0x13, 0x1F, 0x14, 0x16, 0x2F, 0x11, 0x2D, 0x15, 0x2C,
        ];
        for (int i = 0; i < letters.Length; i++)
        {
            t[4 + i] = letters[i];
        }

        // Digits 1–9, 0 are HID 30–39 and set-1 0x02–0x0B.
        for (int i = 0; i < 10; i++)
        {
            t[30 + i] = (ushort)(0x02 + i);
        }

        // HID 40–57: Return, Escape, Backspace, Tab, Space, - = [ ] \ (non-US #) ; ' ` , . / CapsLock.
        ReadOnlySpan<byte> punctuation =
        [
            0x1C, 0x01, 0x0E, 0x0F, 0x39, 0x0C, 0x0D, 0x1A, 0x1B, 0x2B, 0x2B, 0x27, 0x28, 0x29, 0x33, 0x34, 0x35, 0x3A,
        ];
        for (int i = 0; i < punctuation.Length; i++)
        {
            t[40 + i] = punctuation[i];
        }

        // F1–F10 are HID 58–67; F11, F12 are 68, 69.
        for (int i = 0; i < 10; i++)
        {
            t[58 + i] = (ushort)(0x3B + i);
        }

        t[68] = 0x57;
        t[69] = 0x58;
        t[70] = Extended | 0x37;
        t[71] = 0x46;
        t[73] = Extended | 0x52;
        t[74] = Extended | 0x47;
        t[75] = Extended | 0x49;
        t[76] = Extended | 0x53;
        t[77] = Extended | 0x4F;
        t[78] = Extended | 0x51;
        t[79] = Extended | 0x4D;
        t[80] = Extended | 0x4B;
        t[81] = Extended | 0x50;
        t[82] = Extended | 0x48;
        t[83] = 0x45;
        t[84] = Extended | 0x35;
        t[85] = 0x37;
        t[86] = 0x4A;
        t[87] = 0x4E;
        t[88] = Extended | 0x1C;

        // Keypad 1–9, 0, . are HID 89–99.
        ReadOnlySpan<byte> keypad = [0x4F, 0x50, 0x51, 0x4B, 0x4C, 0x4D, 0x47, 0x48, 0x49, 0x52, 0x53];
        for (int i = 0; i < keypad.Length; i++)
        {
            t[89 + i] = keypad[i];
        }

        t[100] = 0x56;
        t[101] = Extended | 0x5D;

        // Modifiers HID 224–231: LCtrl, LShift, LAlt, LGUI, RCtrl, RShift, RAlt, RGUI.
        t[224] = 0x1D;
        t[225] = 0x2A;
        t[226] = 0x38;
        t[227] = Extended | 0x5B;
        t[228] = Extended | 0x1D;
        t[229] = 0x36;
        t[230] = Extended | 0x38;
        t[231] = Extended | 0x5C;
        return t;
    }
}
