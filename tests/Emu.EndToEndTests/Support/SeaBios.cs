namespace Emu.EndToEndTests.Support;

/// <summary>Debian's SeaBIOS images (package <c>seabios</c>, installed by <c>./run.sh</c>) and how to see its log.</summary>
public static class SeaBios
{
    public const string Directory = "/usr/share/seabios";

    public static string Image => Path("bios.bin");

    public static string Path(string name)
    {
        string path = System.IO.Path.Combine(Directory, name);
        return File.Exists(path) ? path : throw new InvalidOperationException($"e2e: {path} is missing: ./run.sh test installs Debian's seabios");
    }

    /// <summary>Debian builds SeaBIOS to log on port 0x402: QEMU's isa-debugcon there, into <paramref name="file"/>.</summary>
    public static string[] LogTo(string file) =>
        ["-chardev", $"file,id=seabios,path={file}", "-device", "isa-debugcon,iobase=0x402,chardev=seabios"];

    /// <summary>
    /// SeaVGABIOS's 8x16 font, as it loads it into plane 2 (its glyphs differ from Emu's BIOS font in detail): the
    /// 4 KiB table in vgabios-stdvga.bin, found by its glyph 1 (the smiley, 7E 81 A5 81 81 BD 99 81 81 7E).
    /// </summary>
    public static byte[] VgaFont()
    {
        byte[] rom = File.ReadAllBytes(Path("vgabios-stdvga.bin"));
        byte[] smiley = [0x00, 0x00, 0x7E, 0x81, 0xA5, 0x81, 0x81, 0xBD, 0x99, 0x81, 0x81, 0x7E, 0x00, 0x00, 0x00, 0x00];
        int at = rom.AsSpan().IndexOf(smiley);
        if (at < 16 || at - 16 + 4096 > rom.Length)
        {
            throw new InvalidOperationException("e2e: vgabios-stdvga.bin holds no 8x16 font where expected");
        }

        return rom[(at - 16)..(at - 16 + 4096)];
    }
}
