using System.Collections.Frozen;

namespace Emu.Monitor.Commands;

/// <summary>QEMU's QKeyCode names (qapi/ui.json) as PC scancode set 1 make codes, with the E0 prefix where it has one.</summary>
public static class QKeyCode
{
    public readonly record struct Scancode(int Code, bool Extended);

    private static readonly FrozenDictionary<string, Scancode> Codes = Build();

    public static bool TryGet(string qcode, out Scancode scancode) => Codes.TryGetValue(qcode, out scancode);

    private static FrozenDictionary<string, Scancode> Build()
    {
        var d = new Dictionary<string, Scancode>(StringComparer.Ordinal);
        void Row(int first, string names)
        {
            int code = first;
            foreach (string n in names.Split(' '))
            {
                d[n] = new Scancode(code++, false);
            }
        }

        Row(0x01, "esc 1 2 3 4 5 6 7 8 9 0 minus equal backspace tab q w e r t y u i o p bracket_left bracket_right ret ctrl");
        Row(0x1E, "a s d f g h j k l semicolon apostrophe grave_accent shift backslash z x c v b n m comma dot slash shift_r kp_multiply alt spc caps_lock");
        Row(0x3B, "f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 num_lock scroll_lock kp_7 kp_8 kp_9 kp_subtract kp_4 kp_5 kp_6 kp_add kp_1 kp_2 kp_3 kp_0 kp_decimal");
        d["less"] = new Scancode(0x56, false);
        d["f11"] = new Scancode(0x57, false);
        d["f12"] = new Scancode(0x58, false);
        foreach ((string name, int code) in new[]
        {
            ("kp_enter", 0x1C), ("ctrl_r", 0x1D), ("kp_divide", 0x35), ("alt_r", 0x38), ("home", 0x47), ("up", 0x48),
            ("pgup", 0x49), ("left", 0x4B), ("right", 0x4D), ("end", 0x4F), ("down", 0x50), ("pgdn", 0x51),
            ("insert", 0x52), ("delete", 0x53), ("meta_l", 0x5B), ("meta_r", 0x5C), ("menu", 0x5D),
        })
        {
            d[name] = new Scancode(code, true);
        }

        return d.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
