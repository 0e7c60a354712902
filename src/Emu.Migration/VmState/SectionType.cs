namespace Emu.Migration.VmState;

/// <summary>
/// The record types of QEMU's savevm stream (savevm.c QEMU_VM_*), one byte each.
/// <code>
/// START/FULL: type, be32 section id, u8 len + idstr, be32 instance id, be32 version, payload, footer
/// PART/END:   type, be32 section id, payload, footer
/// footer:     0x7E, be32 section id
/// COMMAND:    0x08, be16 cmd, be16 len, payload
/// </code>
/// </summary>
public enum SectionType : byte
{
    Eof = 0x00,
    SectionStart = 0x01,
    SectionPart = 0x02,
    SectionEnd = 0x03,
    SectionFull = 0x04,
    Subsection = 0x05,
    VmDescription = 0x06,
    Configuration = 0x07,
    Command = 0x08,
    SectionFooter = 0x7E,
}
