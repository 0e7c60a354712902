#!/usr/bin/env python3
"""Generate firmware/include/font8x16.inc, the BIOS's 8x16 VGA text font in code page 437 order.

Reads PSF (v1 or v2) console fonts with a Unicode table -- by default Debian's console-setup
Uni2-VGA16.psf.gz, then FullGreek-VGA16.psf.gz for the glyphs Uni2 lacks, both drawn from
u_vga16.bdf by Dmitry Bolkhovityanov (MIT-style licence, see
/usr/share/doc/console-setup-linux/copyright.fonts.gz) -- and, for each of the 256 CP437 codes,
emits the 16 row bytes of the first glyph that maps to that code's Unicode character (or to an
accepted look-alike); a blank glyph when no font has one.

    python3 firmware/tools/psf2inc.py [FONT.psf[.gz] ...] > firmware/include/font8x16.inc
"""
import gzip
import sys

DEFAULT_FONTS = ["/usr/share/consolefonts/Uni2-VGA16.psf.gz", "/usr/share/consolefonts/FullGreek-VGA16.psf.gz"]

LICENCE = """
Copyright (c) 2000, 2001 by Dmitry Bolkhovityanov.  All Rights Reserved.

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is fur-
nished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FIT-
NESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.  IN NO EVENT SHALL THE
XFREE86 PROJECT BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CON-
NECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

Except as contained in this notice, the name of Dmitry Bolkhovityanov
shall not be used in advertising or otherwise to promote the sale, use
or other dealings in this Software without prior written authorization
from the Dmitry Bolkhovityanov.
"""

# Look-alikes fonts often carry instead of the CP437 code point.
ALTERNATES = {"►": "▶", "◄": "◀"}

# CP437 0x00-0x1F and 0x7F as glyphs (the IBM PC's graphic characters); 0x20-0xFE through Python's codec.
LOW = "\u0000☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"


def cp437_char(code):
    if code < 0x20:
        return LOW[code]
    if code == 0x7F:
        return "⌂"
    if code == 0xFF:
        return "\u00a0"
    return bytes([code]).decode("cp437")


def read_psf(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:4] == b"\x72\xb5\x4a\x86":                      # PSF2
        hdr, flags, count, size, height, width = (int.from_bytes(raw[i:i + 4], "little") for i in range(8, 32, 4))
        glyphs = [raw[hdr + i * size: hdr + (i + 1) * size] for i in range(count)]
        table = raw[hdr + count * size:] if flags & 1 else b""
        unimap = {}
        pos = 0
        for index in range(count):
            end = table.index(b"\xff", pos) if table else pos
            for chunk in table[pos:end].split(b"\xfe")[:1]:    # single code points before any sequence
                for ch in chunk.decode("utf-8"):
                    unimap.setdefault(ord(ch), index)
            pos = end + 1
    elif raw[:2] == b"\x36\x04":                              # PSF1
        mode, height = raw[2], raw[3]
        width, count = 8, 512 if mode & 1 else 256
        glyphs = [raw[4 + i * height: 4 + (i + 1) * height] for i in range(count)]
        unimap = {}
        pos = 4 + count * height
        index = 0
        while mode & 2 and index < count and pos + 1 < len(raw):
            value = int.from_bytes(raw[pos:pos + 2], "little")
            pos += 2
            if value == 0xFFFF:
                index += 1
            elif value != 0xFFFE:
                unimap.setdefault(value, index)
    else:
        sys.exit(f"psf2inc: {path}: not a PSF font, expected magic 36 04 or 72 b5 4a 86")
    if width != 8 or height != 16:
        sys.exit(f"psf2inc: {path}: glyphs are {width}x{height}, expected 8x16")
    return glyphs, unimap


def main():
    paths = sys.argv[1:] or DEFAULT_FONTS
    fonts = [read_psf(path) for path in paths]
    print("; The BIOS's 8x16 VGA font, 256 glyphs x 16 rows, in code page 437 order (generated, do not edit).")
    print(f"; Source: {', '.join(p.split('/')[-1] for p in paths)} from Debian's console-setup-linux,")
    print("; drawn from u_vga16.bdf, whose licence (from /usr/share/doc/console-setup-linux/copyright.fonts.gz) is:")
    print(";")
    for line in LICENCE.strip().splitlines():
        print(f";   {line}".rstrip())
    print(";")
    print("; Regenerate: python3 firmware/tools/psf2inc.py > firmware/include/font8x16.inc")
    print("font8x16:")
    missing = []
    for code in range(256):
        ch = cp437_char(code)
        rows = None
        for glyphs, unimap in fonts:
            for candidate in (ch, ALTERNATES.get(ch)):
                if rows is None and candidate is not None and ord(candidate) in unimap:
                    rows = glyphs[unimap[ord(candidate)]]
        if rows is None:
            if code != 0:
                missing.append(code)
            rows = bytes(16)
        label = f"U+{ord(ch):04X}"
        print(f"    db {', '.join(f'0x{b:02X}' for b in rows)}  ; {code:02X} {label}")
    if missing:
        print(f"psf2inc: no glyph for CP437 codes {missing}", file=sys.stderr)


main()
