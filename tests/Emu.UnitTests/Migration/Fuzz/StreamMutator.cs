namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// Makes mutant <c>i</c> of a seed stream for a run seed: the same (seed, i) always gives the same bytes, so a
/// failure is reproduced from its two numbers alone. Half the damage is blind (bit flips, byte replacements,
/// insertions, deletions, truncations anywhere but page data), half aims at the fields a loader trusts (lengths,
/// idstr lengths, section ids and versions, RAM record words, device fields) or moves whole sections.
/// </summary>
internal sealed class StreamMutator
{
    /// <summary>Values that break length and index checks: zero, one, the sign bits, the maxima.</summary>
    private static readonly ulong[] Interesting =
    [
        0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
        0x100000000, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF,
    ];

    private const int PageSize = 4096;

    private static readonly StreamMutationKind[] Kinds = Enum.GetValues<StreamMutationKind>();

    private readonly byte[] _seed;
    private readonly SnapshotLayout _layout;
    private readonly int _runSeed;
    private readonly List<int> _structureOffsets = [];

    public StreamMutator(byte[] seed, int runSeed)
    {
        _seed = seed;
        _layout = SnapshotLayout.Parse(seed);
        _runSeed = runSeed;
        for (int i = 0; i < seed.Length; i++)
        {
            if (!_layout.InPageData(i))
            {
                _structureOffsets.Add(i);
            }
        }
    }

    public SnapshotLayout Layout => _layout;

    public StreamMutant Make(int index)
    {
        var random = new Random(unchecked((_runSeed * 1_000_003) + index));
        StreamMutationKind kind = Kinds[random.Next(Kinds.Length)];
        // A draw can leave the bytes as they were (a value written over itself, a section swapped with itself):
        // draw again, so every mutant is damaged.
        while (true)
        {
            var bytes = new List<byte>(_seed);
            string description = Apply(kind, random, bytes);
            byte[] mutant = [.. bytes];
            if (!mutant.AsSpan().SequenceEqual(_seed))
            {
                return new StreamMutant(index, kind, description, mutant);
            }
        }
    }

    private string Apply(StreamMutationKind kind, Random random, List<byte> b)
    {
        switch (kind)
        {
            case StreamMutationKind.BitFlip:
                {
                    int flips = 1 + random.Next(8);
                    var where = new List<string>();
                    for (int i = 0; i < flips; i++)
                    {
                        int at = AnyStructureOffset(random);
                        int bit = random.Next(8);
                        b[at] ^= (byte)(1 << bit);
                        where.Add($"0x{at:x}.{bit}");
                    }

                    return string.Join(' ', where);
                }

            case StreamMutationKind.ByteReplace:
                {
                    int at = AnyStructureOffset(random);
                    byte value = (byte)(random.Next(2) == 0 ? Interesting[random.Next(5)] : (ulong)random.Next(256));
                    b[at] = value;
                    return $"0x{at:x} = 0x{value:x2}";
                }

            case StreamMutationKind.Insert:
                {
                    int at = AnyStructureOffset(random);
                    byte[] extra = new byte[1 + random.Next(16)];
                    random.NextBytes(extra);
                    b.InsertRange(at, extra);
                    return $"{extra.Length} bytes at 0x{at:x}";
                }

            case StreamMutationKind.Delete:
                {
                    int at = AnyStructureOffset(random);
                    int count = Math.Min(1 + random.Next(random.Next(2) == 0 ? 8 : 4096), b.Count - at);
                    b.RemoveRange(at, count);
                    return $"{count} bytes at 0x{at:x}";
                }

            case StreamMutationKind.Truncate:
                {
                    int at = random.Next(b.Count);
                    b.RemoveRange(at, b.Count - at);
                    return $"at 0x{at:x}";
                }

            case StreamMutationKind.LengthEdit:
                {
                    StreamField f = PickField(random, StreamFieldKind.ConfigurationLength, StreamFieldKind.RamBlockLength, StreamFieldKind.VmDescriptionLength);
                    ulong old = Read(b, f);
                    ulong value = random.Next(3) switch
                    {
                        0 => old + 1,
                        1 => old - 1,
                        _ => old + (ulong)random.Next(1, 1 << 20),
                    };
                    Write(b, f, value);
                    return $"{f.Kind} at 0x{f.Offset:x}: {old} -> {Read(b, f)}";
                }

            case StreamMutationKind.IdStrLengthEdit:
                {
                    StreamField f = PickField(random, StreamFieldKind.IdStrLength);
                    ulong old = Read(b, f);
                    byte value = random.Next(4) switch
                    {
                        0 => 0,
                        1 => 255,
                        2 => (byte)(old + 1),
                        _ => (byte)(old - 1),
                    };
                    b[f.Offset] = value;
                    return $"idstr length at 0x{f.Offset:x}: {old} -> {value}";
                }

            case StreamMutationKind.HugeLength:
                {
                    StreamField f = PickField(random, StreamFieldKind.ConfigurationLength, StreamFieldKind.RamBlockLength, StreamFieldKind.VmDescriptionLength, StreamFieldKind.RamRecordWord);
                    ulong value = Interesting[8 + random.Next(Interesting.Length - 8)];
                    if (f.Kind == StreamFieldKind.RamRecordWord)
                    {
                        // Keep the flags, make the offset (or MEM_SIZE's total) huge.
                        value = (value & ~0xFFFUL) | (Read(b, f) & 0xFFF);
                    }

                    Write(b, f, value);
                    return $"{f.Kind} at 0x{f.Offset:x} = 0x{Read(b, f):x}";
                }

            case StreamMutationKind.HeaderFieldEdit:
                {
                    StreamField f = PickField(random, StreamFieldKind.SectionId, StreamFieldKind.InstanceId, StreamFieldKind.SectionVersion,
                        StreamFieldKind.RecordType, StreamFieldKind.FooterMarker, StreamFieldKind.FooterSectionId, StreamFieldKind.Magic, StreamFieldKind.FileVersion);
                    ulong old = Read(b, f);
                    ulong value = random.Next(3) switch
                    {
                        0 => Interesting[random.Next(Interesting.Length)],
                        1 => old + 1,
                        _ => old - 1,
                    };
                    Write(b, f, value);
                    return $"{f.Kind} at 0x{f.Offset:x}: 0x{old:x} -> 0x{Read(b, f):x}";
                }

            case StreamMutationKind.RamRecordEdit:
                {
                    StreamField f = PickField(random, StreamFieldKind.RamRecordWord, StreamFieldKind.ZeroPageFill);
                    ulong old = Read(b, f);
                    ulong value = f.Kind == StreamFieldKind.ZeroPageFill
                        ? (ulong)random.Next(1, 256)
                        : random.Next(2) == 0
                            ? old ^ (1UL << random.Next(12))
                            : (old & 0xFFF) | ((ulong)random.NextInt64() & ~0xFFFUL);
                    Write(b, f, value);
                    return $"{f.Kind} at 0x{f.Offset:x}: 0x{old:x} -> 0x{value:x}";
                }

            case StreamMutationKind.DeviceFieldEdit:
                {
                    (int start, int end) = _layout.DevicePayloads[random.Next(_layout.DevicePayloads.Count)];
                    int at = start + random.Next(end - start);
                    int width = Math.Min(new[] { 1, 2, 4, 8 }[random.Next(4)], end - at);
                    ulong value = random.Next(2) == 0 ? Interesting[random.Next(Interesting.Length)] : (ulong)random.NextInt64();
                    for (int i = 0; i < width; i++)
                    {
                        b[at + i] = (byte)(value >> (8 * (width - 1 - i)));
                    }

                    return $"{width} bytes at 0x{at:x} = 0x{value & (width == 8 ? ulong.MaxValue : (1UL << (8 * width)) - 1):x}";
                }

            case StreamMutationKind.SectionDrop:
                {
                    StreamSection s = _layout.Sections[random.Next(_layout.Sections.Count)];
                    b.RemoveRange(s.Start, s.Length);
                    return $"'{s.IdStr}' at 0x{s.Start:x}";
                }

            case StreamMutationKind.SectionDuplicate:
                {
                    StreamSection s = PickDeviceSection(random);
                    b.InsertRange(s.End, _seed.AsSpan(s.Start, s.Length).ToArray());
                    return $"'{s.IdStr}' at 0x{s.Start:x}";
                }

            case StreamMutationKind.SectionSwap:
                {
                    StreamSection first = PickDeviceSection(random), second = PickDeviceSection(random);
                    if (first.Start > second.Start)
                    {
                        (first, second) = (second, first);
                    }

                    if (first.Start == second.Start)
                    {
                        return "a section with itself";
                    }

                    byte[] swapped = [.. _seed.AsSpan(second.Start, second.Length), .. _seed.AsSpan(first.End, second.Start - first.End), .. _seed.AsSpan(first.Start, first.Length)];
                    for (int i = 0; i < swapped.Length; i++)
                    {
                        b[first.Start + i] = swapped[i];
                    }

                    return $"'{first.IdStr}' and '{second.IdStr}'";
                }

            case StreamMutationKind.XbzrleRecord:
                {
                    // A PAGE record becomes an XBZRLE one (flag 0x40, encoding 0x01, be16 length, delta) whose delta
                    // is noise, or runs that may overrun the page, end inside a run or inside a length.
                    (int word, int data) = _layout.PageRecords[random.Next(_layout.PageRecords.Count)];
                    b[word + 7] = (byte)((b[word + 7] & ~0x08) | 0x40);
                    byte[] delta = XbzrleDelta(random, out string shape);
                    int length = random.Next(8) == 0 ? random.Next(0x10000) : delta.Length;
                    b.RemoveRange(data, PageSize);
                    b.InsertRange(data, [0x01, (byte)(length >> 8), (byte)length, .. delta]);
                    return $"page at 0x{data:x} as XBZRLE, {shape} delta of {delta.Length} bytes, length field {length}";
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "fuzz: no such mutation");
        }
    }

    /// <summary>An XBZRLE delta: (zero run, data run) pairs as uleb128 lengths, or noise.</summary>
    private static byte[] XbzrleDelta(Random random, out string shape)
    {
        var delta = new List<byte>();
        if (random.Next(4) == 0)
        {
            byte[] noise = new byte[random.Next(PageSize + 16)];
            random.NextBytes(noise);
            shape = "noise";
            return noise;
        }

        int pairs = 1 + random.Next(6);
        for (int i = 0; i < pairs; i++)
        {
            Uleb(delta, random.Next(2) == 0 ? random.Next(64) : random.Next(0x4000));
            int run = random.Next(2) == 0 ? random.Next(64) : random.Next(0x4000);
            Uleb(delta, run);
            for (int j = 0; j < Math.Min(run, 256); j++)
            {
                delta.Add((byte)random.Next(256));
            }
        }

        shape = "runs";
        if (random.Next(3) == 0)
        {
            // Cut inside the last run or its length.
            delta.RemoveRange(delta.Count - 1 - random.Next(Math.Min(4, delta.Count)), 1);
            shape = "cut runs";
        }

        return [.. delta];
    }

    private static void Uleb(List<byte> into, int value)
    {
        while (value >= 0x80)
        {
            into.Add((byte)(value | 0x80));
            value >>= 7;
        }

        into.Add((byte)value);
    }

    private int AnyStructureOffset(Random random) => _structureOffsets[random.Next(_structureOffsets.Count)];

    private StreamField PickField(Random random, params StreamFieldKind[] kinds)
    {
        List<StreamField> candidates = _layout.Fields.FindAll(f => Array.IndexOf(kinds, f.Kind) >= 0);
        return candidates[random.Next(candidates.Count)];
    }

    private StreamSection PickDeviceSection(Random random)
    {
        List<StreamSection> devices = _layout.Sections.FindAll(s => s.IsDevice);
        return devices[random.Next(devices.Count)];
    }

    private static ulong Read(List<byte> b, StreamField f)
    {
        ulong v = 0;
        for (int i = 0; i < f.Width; i++)
        {
            v = (v << 8) | b[f.Offset + i];
        }

        return v;
    }

    /// <summary>Big-endian, cut to the field's width.</summary>
    private static void Write(List<byte> b, StreamField f, ulong value)
    {
        for (int i = 0; i < f.Width; i++)
        {
            b[f.Offset + i] = (byte)(value >> (8 * (f.Width - 1 - i)));
        }
    }
}
