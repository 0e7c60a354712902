namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>The kinds of damage <see cref="StreamMutator"/> does to a seed stream.</summary>
internal enum StreamMutationKind
{
    BitFlip,
    ByteReplace,
    Insert,
    Delete,
    Truncate,
    LengthEdit,
    IdStrLengthEdit,
    HugeLength,
    HeaderFieldEdit,
    RamRecordEdit,
    DeviceFieldEdit,
    SectionDrop,
    SectionDuplicate,
    SectionSwap,
    XbzrleRecord,
}
