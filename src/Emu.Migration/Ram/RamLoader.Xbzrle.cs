using Emu.Machine.Memory;
using Emu.Migration.Stream;

namespace Emu.Migration.Ram;

/// <summary>XBZRLE records on the destination (QEMU load_xbzrle): accepted whatever the local capabilities, as QEMU's; refused in postcopy, where QEMU never sends them.</summary>
public sealed partial class RamLoader
{
    private readonly byte[] _xbzrleDelta = new byte[RamBlock.PageSize];

    /// <summary>
    /// QEMU load_xbzrle: u8 encoding flag (must be ENCODING_FLAG_XBZRLE), be16 length (at most a page), the delta,
    /// applied in place to the page, which holds the version the source encoded against. The delta is checked
    /// whole before the page is touched.
    /// </summary>
    private void LoadXbzrle(MigrationStream s, RamBlock b, ulong addr, long at)
    {
        CheckOffset(b, addr, at);
        byte encoding = s.ReadU8();
        if (encoding != Xbzrle.EncodingFlag)
        {
            throw new MigrationStreamException($"ram: failed to load XBZRLE page at 0x{addr:x} in '{b.IdStr}' (stream offset 0x{at:x}): wrong compression 0x{encoding:x2}, expected 0x{Xbzrle.EncodingFlag:x2}");
        }

        int length = s.ReadU16();
        if (length > RamBlock.PageSize)
        {
            throw new MigrationStreamException($"ram: failed to load XBZRLE page at 0x{addr:x} in '{b.IdStr}' (stream offset 0x{at:x}): len overflow, {length} bytes, at most {RamBlock.PageSize}");
        }

        Span<byte> delta = _xbzrleDelta.AsSpan(0, length);
        s.ReadBytes(delta);
        int page = (int)(addr >> RamBlock.PageShift);
        if (Xbzrle.Decode(delta, b.Page(page)) < 0)
        {
            throw new MigrationStreamException($"ram: failed to load XBZRLE page at 0x{addr:x} in '{b.IdStr}' (stream offset 0x{at:x}): decode error in a {length}-byte delta");
        }

        MarkWritten(b, page);
        b.DirtyLog.MarkPageDirty(page);
        PagesLoaded++;
    }
}
