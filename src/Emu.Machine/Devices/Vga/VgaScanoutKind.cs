namespace Emu.Machine.Devices.Vga;

/// <summary>What the CRT controller is scanning out (QEMU's GMODE_* plus the VBE path).</summary>
public enum VgaScanoutKind
{
    /// <summary>Nothing sensible to show (display disabled, or a mode Emu does not draw).</summary>
    Blank = 0,

    /// <summary>Character cells: char in plane 0, attribute in plane 1, glyphs in plane 2.</summary>
    Text = 1,

    /// <summary>4 planes, one bit per plane per pixel (modes 0Dh–12h).</summary>
    Planar16 = 2,

    /// <summary>One byte per pixel through the DAC (mode 13h, chained or unchained).</summary>
    Indexed256 = 3,

    /// <summary>The Bochs VBE linear framebuffer.</summary>
    Vbe = 4,
}
