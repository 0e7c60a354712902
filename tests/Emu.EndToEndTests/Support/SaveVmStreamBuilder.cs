using System.Buffers.Binary;
using System.Text;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// Writes a QEMU savevm stream byte by byte, big-endian as on the wire, so a test can feed a destination a stream
/// that is valid up to exactly the point it wants to break (QEMU's migration-test "bad stream" cases). Layout:
/// <code>
/// be32 magic "QEVM", be32 version 3, 0x07 be32 len machine-type
/// START/FULL: type, be32 section id, u8 len + idstr, be32 instance id, be32 version, payload, 0x7E be32 section id
/// PART/END:   type, be32 section id, payload, 0x7E be32 section id
/// ram records: be64 offset|flags, [u8 len + block idstr unless CONTINUE], payload; MEM_SIZE lists the blocks
/// </code>
/// </summary>
public sealed class SaveVmStreamBuilder
{
    public const uint Magic = 0x5145564D;
    public const uint Version = 3;
    public const string MachineType = "pc-emu";
    public const byte Eof = 0x00, SectionStart = 0x01, SectionPart = 0x02, SectionEnd = 0x03, SectionFull = 0x04, Configuration = 0x07, Command = 0x08, Footer = 0x7E;
    public const ushort CmdOpenReturnPath = 1, CmdPostcopyAdvise = 3, CmdPostcopyListen = 4, CmdPostcopyRun = 5, CmdPackaged = 7;
    public const ulong RamZero = 0x02, RamMemSize = 0x04, RamPage = 0x08, RamEos = 0x10, RamContinue = 0x20;
    public const string RamSection = "ram";
    public const uint RamSectionVersion = 4;
    public const string RamBlock = "pc.ram";
    public const int PageSize = 4096;

    private readonly MemoryStream _bytes = new();

    /// <summary>Bytes written so far: the stream offset of the next record (the destination's error names it).</summary>
    public long Position => _bytes.Length;

    public SaveVmStreamBuilder U8(byte v)
    {
        _bytes.WriteByte(v);
        return this;
    }

    public SaveVmStreamBuilder U16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(b, v);
        _bytes.Write(b);
        return this;
    }

    public SaveVmStreamBuilder U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        _bytes.Write(b);
        return this;
    }

    public SaveVmStreamBuilder U64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, v);
        _bytes.Write(b);
        return this;
    }

    public SaveVmStreamBuilder Bytes(ReadOnlySpan<byte> data)
    {
        _bytes.Write(data);
        return this;
    }

    /// <summary>u8 length + ASCII, no terminator.</summary>
    public SaveVmStreamBuilder IdStr(string s)
    {
        byte[] b = Encoding.ASCII.GetBytes(s);
        return U8(checked((byte)b.Length)).Bytes(b);
    }

    /// <summary>qemu_savevm_state_header: magic, version, configuration section with the machine type.</summary>
    public SaveVmStreamBuilder Header(uint magic = Magic, uint version = Version, string machine = MachineType)
    {
        byte[] name = Encoding.ASCII.GetBytes(machine);
        return U32(magic).U32(version).U8(Configuration).U32((uint)name.Length).Bytes(name);
    }

    public SaveVmStreamBuilder StartOrFull(byte type, uint sectionId, string idStr, uint instance, uint version) =>
        U8(type).U32(sectionId).IdStr(idStr).U32(instance).U32(version);

    public SaveVmStreamBuilder PartOrEnd(byte type, uint sectionId) => U8(type).U32(sectionId);

    public SaveVmStreamBuilder SectionFooter(uint sectionId) => U8(Footer).U32(sectionId);

    /// <summary>The ram section's START (id 0) with the MEM_SIZE list of one block, then EOS and the footer.</summary>
    public SaveVmStreamBuilder RamSetup(ulong blockBytes, string block = RamBlock)
    {
        StartOrFull(SectionStart, 0, RamSection, 0, RamSectionVersion);
        U64(blockBytes | RamMemSize).IdStr(block).U64(blockBytes);
        return U64(RamEos).SectionFooter(0);
    }

    /// <summary>A PAGE record (header with the block name, then 4096 bytes of <paramref name="fill"/>).</summary>
    public SaveVmStreamBuilder RamPageRecord(ulong offset, string block = RamBlock, byte fill = 0x5A, int dataBytes = PageSize)
    {
        U64(offset | RamPage).IdStr(block);
        byte[] page = new byte[dataBytes];
        Array.Fill(page, fill);
        return Bytes(page);
    }

    /// <summary>A QEMU_VM_COMMAND record: 0x08, be16 command, be16 payload length, payload.</summary>
    public SaveVmStreamBuilder Cmd(ushort command, ReadOnlySpan<byte> payload = default) =>
        U8(Command).U16(command).U16(checked((ushort)payload.Length)).Bytes(payload);

    /// <summary>POSTCOPY_ADVISE with this build's 4 KiB page size as summary and target page size.</summary>
    public SaveVmStreamBuilder PostcopyAdvise() => U8(Command).U16(CmdPostcopyAdvise).U16(16).U64(PageSize).U64(PageSize);

    /// <summary>PACKAGED: be32 length, then the nested stream (postcopy's device state between LISTEN and RUN).</summary>
    public SaveVmStreamBuilder Packaged(ReadOnlySpan<byte> package) =>
        U8(Command).U16(CmdPackaged).U16(4).U32(checked((uint)package.Length)).Bytes(package);

    public byte[] ToArray() => _bytes.ToArray();
}
