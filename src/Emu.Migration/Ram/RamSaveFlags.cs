namespace Emu.Migration.Ram;

/// <summary>
/// QEMU's RAM_SAVE_FLAG_*: the low 12 bits of every be64 record word of the "ram" section; the high bits hold
/// the page-aligned offset inside the block (or, for MEM_SIZE, the total RAM size).
/// <code>
/// word  = offset | flags                 (be64)
/// [u8 len, idstr]                         unless CONTINUE
/// ZERO: u8 fill (0)   PAGE: 4096 bytes   MEM_SIZE: per block u8 len, idstr, be64 length   EOS: nothing
/// </code>
/// </summary>
[Flags]
public enum RamSaveFlags : ulong
{
    None = 0,

    /// <summary>Obsolete since 2009 (RAM_SAVE_FLAG_FULL).</summary>
    Full = 0x01,

    /// <summary>The page is all zero: one fill byte follows.</summary>
    Zero = 0x02,

    /// <summary>Block list header at setup.</summary>
    MemSize = 0x04,

    /// <summary>A raw page follows.</summary>
    Page = 0x08,

    /// <summary>End of this chunk of the section.</summary>
    Eos = 0x10,

    /// <summary>Same block as the previous record: the idstr is omitted.</summary>
    Continue = 0x20,

    Xbzrle = 0x40,
    Hook = 0x80,
    CompressPage = 0x100,
    MultifdFlush = 0x200,

    /// <summary>Every flag bit: the low bits below the target page size.</summary>
    Mask = 0xFFF,
}
