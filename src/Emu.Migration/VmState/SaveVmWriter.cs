using System.Text;
using System.Text.Json.Nodes;
using Emu.Migration.Stream;

namespace Emu.Migration.VmState;

/// <summary>
/// Writes the framing of QEMU's savevm stream: file header and configuration (qemu_savevm_state_header), section
/// headers and footers (save_section_header / save_section_footer), EOF and the trailing JSON vmdesc.
/// </summary>
public static class SaveVmWriter
{
    /// <summary>QEMU qemu_savevm_state_header: magic, version, then the configuration section (machine type).</summary>
    public static void WriteHeader(MigrationStream s, string machineType = SaveVmFormat.MachineType)
    {
        s.WriteU32(SaveVmFormat.FileMagic);
        s.WriteU32(SaveVmFormat.FileVersion);
        s.WriteU8((byte)SectionType.Configuration);
        byte[] name = Encoding.ASCII.GetBytes(machineType);
        s.WriteU32((uint)name.Length);
        s.WriteBytes(name);
    }

    /// <summary>START or FULL header: type, id, idstr, instance id, version.</summary>
    public static void WriteSectionHeader(MigrationStream s, SectionType type, uint sectionId, string idStr, uint instanceId, uint version)
    {
        if (type is not (SectionType.SectionStart or SectionType.SectionFull))
        {
            throw new ArgumentException($"savevm: {type} has no full header", nameof(type));
        }

        s.WriteU8((byte)type);
        s.WriteU32(sectionId);
        WriteIdStr(s, idStr);
        s.WriteU32(instanceId);
        s.WriteU32(version);
    }

    /// <summary>PART or END header: type and id.</summary>
    public static void WriteSectionShortHeader(MigrationStream s, SectionType type, uint sectionId)
    {
        if (type is not (SectionType.SectionPart or SectionType.SectionEnd))
        {
            throw new ArgumentException($"savevm: {type} has a full header", nameof(type));
        }

        s.WriteU8((byte)type);
        s.WriteU32(sectionId);
    }

    /// <summary>QEMU save_section_footer: 0x7E and the section id again, so a loader notices a section overrun.</summary>
    public static void WriteFooter(MigrationStream s, uint sectionId)
    {
        s.WriteU8((byte)SectionType.SectionFooter);
        s.WriteU32(sectionId);
    }

    public static void WriteEof(MigrationStream s) => s.WriteU8((byte)SectionType.Eof);

    /// <summary>QEMU_VM_VMDESCRIPTION, be32 length, the JSON (written after EOF, for tools that inspect a stream).</summary>
    public static void WriteVmDescription(MigrationStream s, JsonObject vmdesc)
    {
        byte[] json = Encoding.UTF8.GetBytes(vmdesc.ToJsonString());
        s.WriteU8((byte)SectionType.VmDescription);
        s.WriteU32((uint)json.Length);
        s.WriteBytes(json);
    }

    /// <summary>u8 length + ASCII bytes, no terminator (QEMU's idstr on the wire).</summary>
    public static void WriteIdStr(MigrationStream s, string idStr)
    {
        Span<byte> b = stackalloc byte[256];
        int n = Encoding.ASCII.GetBytes(idStr, b);
        if (n > 255)
        {
            throw new ArgumentException($"savevm: idstr '{idStr}' is longer than 255 bytes", nameof(idStr));
        }

        s.WriteU8((byte)n);
        s.WriteBytes(b[..n]);
    }

    /// <summary>Reads a u8-length idstr; the length byte bounds it to 255. It comes from the peer: made printable (<see cref="WireText"/>).</summary>
    public static string ReadIdStr(MigrationStream s)
    {
        int n = s.ReadU8();
        Span<byte> b = stackalloc byte[255];
        s.ReadBytes(b[..n]);
        return WireText.Printable(b[..n]);
    }
}
