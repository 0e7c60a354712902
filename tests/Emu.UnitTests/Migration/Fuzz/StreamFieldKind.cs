namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>What a field of a savevm stream holds, so a mutation can aim at the bytes a loader trusts.</summary>
internal enum StreamFieldKind
{
    Magic,
    FileVersion,
    RecordType,
    ConfigurationLength,
    SectionId,
    IdStrLength,
    InstanceId,
    SectionVersion,
    FooterMarker,
    FooterSectionId,
    RamRecordWord,
    RamBlockLength,
    ZeroPageFill,
    VmDescriptionLength,
}
