using B = Emu.EndToEndTests.Support.SaveVmStreamBuilder;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// One corrupt, truncated or hostile migration stream for a destination with a <c>pc.ram</c> block of a given size,
/// and the error the destination must exit with (after "emu: "). Each is valid up to the one thing it breaks, so
/// the error names exactly that thing and its stream offset (computed here from the bytes written before it).
/// </summary>
public sealed record HostileStream(string Name, byte[] Bytes, string ExpectedError)
{
    public static readonly string[] Names =
    [
        "empty", "wrong-magic", "wrong-version", "wrong-machine", "oversize-configuration-length", "no-configuration",
        "unknown-record-type", "unknown-section", "oversize-idstr-length", "ram-section-version", "duplicate-section-id",
        "bad-section-id", "bad-footer-id", "missing-footer", "unknown-ram-block", "ram-block-length", "unknown-page-block",
        "continue-first", "offset-past-block", "zero-page-fill", "unknown-ram-flags", "eof-without-ram",
        "truncated-after-header", "truncated-mid-page",
    ];

    public static HostileStream Build(string name, ulong ramBytes)
    {
        var b = new B();
        long at;
        string error;
        switch (name)
        {
            case "empty":
                error = "stream: unexpected end of stream at offset 0x0, needed 4 more bytes";
                break;
            case "wrong-magic":
                b.Header(magic: 0x51455600);
                error = "savevm: wrong magic 0x51455600 at stream offset 0x0, expected 0x5145564d (QEVM)";
                break;
            case "wrong-version":
                b.Header(version: 2);
                error = "savevm: unsupported stream version 2 at stream offset 0x4, expected 3";
                break;
            case "wrong-machine":
                b.Header(machine: "pc-q35-9.0");
                error = "savevm: machine type received is 'pc-q35-9.0' and local is 'pc-emu' (stream offset 0x8)";
                break;
            case "oversize-configuration-length":
                b.U32(B.Magic).U32(B.Version).U8(B.Configuration).U32(0xFFFFFFF0);
                error = "savevm: machine type name of 4294967280 bytes at stream offset 0x9, at most 256";
                break;
            case "no-configuration":
                b.U32(B.Magic).U32(B.Version).U8(B.SectionFull);
                error = "savevm: configuration section missing at stream offset 0x8: found record type 0x04, expected 0x07";
                break;
            case "unknown-record-type":
                b.Header();
                at = b.Position;
                b.U8(0x42);
                error = $"savevm: unknown record type 0x42 at stream offset 0x{at:x}";
                break;
            case "unknown-section":
                b.Header().RamSetup(ramBytes);
                at = b.Position;
                b.StartOrFull(B.SectionFull, 5, "frobnicator", 0, 1).U32(0).SectionFooter(5);
                error = $"savevm: unknown section 'frobnicator' instance 0 at stream offset 0x{at:x}";
                break;
            case "oversize-idstr-length":
                // The longest idstr the u8 length allows; the loader must not read past it or trust it.
                b.Header();
                at = b.Position;
                b.StartOrFull(B.SectionStart, 0, new string('x', 255), 0, 4).U64(B.RamEos).SectionFooter(0);
                // The name is the peer's: the refusal quotes it cut at 64 characters with its length.
                error = $"savevm: unknown section '{new string('x', 64)}…(255 bytes)' instance 0 at stream offset 0x{at:x}";
                break;
            case "ram-section-version":
                b.Header();
                at = b.Position;
                b.StartOrFull(B.SectionStart, 0, B.RamSection, 0, 5);
                error = $"savevm: section 'ram' version 5 at stream offset 0x{at:x} is not supported, expected 4";
                break;
            case "duplicate-section-id":
                b.Header().RamSetup(ramBytes);
                at = b.Position;
                b.RamSetup(ramBytes);
                error = $"savevm: section id 0 of 'ram' at stream offset 0x{at:x} is already in use";
                break;
            case "bad-section-id":
                b.Header().RamSetup(ramBytes);
                at = b.Position;
                b.PartOrEnd(B.SectionPart, 7).U64(B.RamEos).SectionFooter(7);
                error = $"savevm: unknown section id 7 at stream offset 0x{at:x}";
                break;
            case "bad-footer-id":
                b.Header().StartOrFull(B.SectionStart, 0, B.RamSection, 0, B.RamSectionVersion)
                    .U64(ramBytes | B.RamMemSize).IdStr(B.RamBlock).U64(ramBytes).U64(B.RamEos);
                at = b.Position;
                b.SectionFooter(9);
                error = $"savevm: footer of section 'ram' at stream offset 0x{at:x} names section id 9, expected 0";
                break;
            case "missing-footer":
                b.Header().StartOrFull(B.SectionStart, 0, B.RamSection, 0, B.RamSectionVersion)
                    .U64(ramBytes | B.RamMemSize).IdStr(B.RamBlock).U64(ramBytes).U64(B.RamEos);
                at = b.Position;
                b.U8(B.Eof);
                error = $"savevm: footer of section 'ram' (id 0) missing at stream offset 0x{at:x}: found 0x00, expected 0x7e";
                break;
            case "unknown-ram-block":
                b.Header().StartOrFull(B.SectionStart, 0, B.RamSection, 0, B.RamSectionVersion).U64(ramBytes | B.RamMemSize);
                at = b.Position;
                b.IdStr("pc.rom9").U64(ramBytes);
                error = $"ram: unknown RAMBlock 'pc.rom9' at stream offset 0x{at:x}, cannot accept migration";
                break;
            case "ram-block-length":
                b.Header().StartOrFull(B.SectionStart, 0, B.RamSection, 0, B.RamSectionVersion).U64((ramBytes * 2) | B.RamMemSize);
                at = b.Position;
                b.IdStr(B.RamBlock).U64(ramBytes * 2);
                error = $"ram: RAMBlock 'pc.ram' length 0x{ramBytes * 2:x} at stream offset 0x{at:x} differs from the local 0x{ramBytes:x}";
                break;
            case "unknown-page-block":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0);
                at = b.Position;
                b.RamPageRecord(0, "nowhere");
                error = $"ram: can't find block 'nowhere' at stream offset 0x{at:x}";
                break;
            case "continue-first":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0);
                at = b.Position;
                b.U64(B.RamPage | B.RamContinue).Bytes(new byte[B.PageSize]);
                error = $"ram: Ack, bad migration stream! CONTINUE with no previous block at stream offset 0x{at:x}";
                break;
            case "offset-past-block":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0).RamPageRecord(0);
                at = b.Position;
                b.RamPageRecord(ramBytes);
                error = $"ram: illegal RAM offset 0x{ramBytes:x} in 'pc.ram' at stream offset 0x{at:x}, block is 0x{ramBytes:x} bytes";
                break;
            case "zero-page-fill":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0);
                at = b.Position;
                b.U64(B.PageSize | B.RamZero).IdStr(B.RamBlock).U8(7);
                error = $"ram: found a zero page with value 7 at stream offset 0x{at:x}, expected 0";
                break;
            case "unknown-ram-flags":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0);
                at = b.Position;
                // COMPRESS_PAGE (0x100): legacy zlib compression, which Emu does not accept.
                b.U64(0x100).IdStr(B.RamBlock).U8(1).U16(0);
                error = $"ram: unknown combination of migration flags 0x100 at stream offset 0x{at:x}";
                break;
            case "eof-without-ram":
                b.Header().U8(B.Eof);
                error = $"savevm: stream ended at offset 0x{b.Position:x} without a 'ram' section";
                break;
            case "truncated-after-header":
                b.Header();
                error = $"stream: unexpected end of stream at offset 0x{b.Position:x}, needed 1 more bytes";
                break;
            case "truncated-mid-page":
                b.Header().RamSetup(ramBytes).PartOrEnd(B.SectionPart, 0).RamPageRecord(0, dataBytes: 1000);
                error = $"stream: unexpected end of stream at offset 0x{b.Position:x}, needed";
                break;
            default:
                throw new ArgumentException($"e2e: no hostile stream named '{name}'", nameof(name));
        }

        return new HostileStream(name, b.ToArray(), error);
    }

    public override string ToString() => Name;
}
