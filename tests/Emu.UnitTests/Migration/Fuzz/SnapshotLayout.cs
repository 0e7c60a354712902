using System.Buffers.Binary;
using System.Text;

namespace Emu.UnitTests.Migration.Fuzz;

/// <summary>
/// The map of a well-formed savevm stream as Emu writes it (header, configuration, the "ram" section's records,
/// device FULL sections, EOF, vmdesc): every length, id, version and record word with its offset, the whole
/// sections, the device payloads and the page data. The mutator uses it to aim at what a loader must not trust.
/// It reads only a stream it is given as a seed, so a stream it does not understand is an error, not a guess.
/// </summary>
internal sealed class SnapshotLayout
{
    private const ulong RamZero = 0x02, RamMemSize = 0x04, RamPage = 0x08, RamEos = 0x10, RamContinue = 0x20, RamFlagMask = 0xFFF;
    private const int PageSize = 4096;

    private readonly byte[] _bytes;
    private int _at;

    private SnapshotLayout(byte[] bytes) => _bytes = bytes;

    public List<StreamField> Fields { get; } = [];

    public List<StreamSection> Sections { get; } = [];

    /// <summary>Device section payloads (between the section header and the footer): [start, end).</summary>
    public List<(int Start, int End)> DevicePayloads { get; } = [];

    /// <summary>Raw page contents: bytes any value of which loads, so random edits there prove little.</summary>
    public List<(int Start, int End)> PageData { get; } = [];

    /// <summary>PAGE records: the offset of the record word and of the page's 4096 bytes.</summary>
    public List<(int Word, int Data)> PageRecords { get; } = [];

    public static SnapshotLayout Parse(byte[] bytes)
    {
        var layout = new SnapshotLayout(bytes);
        layout.ParseStream();
        return layout;
    }

    /// <summary>True when <paramref name="offset"/> lies in page data.</summary>
    public bool InPageData(int offset)
    {
        int lo = 0, hi = PageData.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) / 2;
            (int start, int end) = PageData[mid];
            if (offset < start)
            {
                hi = mid - 1;
            }
            else if (offset >= end)
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private void ParseStream()
    {
        Field(4, StreamFieldKind.Magic);
        Field(4, StreamFieldKind.FileVersion);
        Field(1, StreamFieldKind.RecordType);
        uint configLength = (uint)Field(4, StreamFieldKind.ConfigurationLength);
        Skip((int)configLength);
        uint ramId = uint.MaxValue;
        while (true)
        {
            int start = _at;
            byte type = (byte)Field(1, StreamFieldKind.RecordType);
            switch (type)
            {
                case 0x01 or 0x04:
                    {
                        uint id = (uint)Field(4, StreamFieldKind.SectionId);
                        string idStr = IdStr();
                        Field(4, StreamFieldKind.InstanceId);
                        Field(4, StreamFieldKind.SectionVersion);
                        if (idStr == "ram")
                        {
                            ramId = id;
                            RamRecords();
                            Footer(id);
                            Sections.Add(new StreamSection(start, _at, idStr, IsDevice: false));
                        }
                        else
                        {
                            int payload = _at;
                            _at = FindFooter(id, payload);
                            DevicePayloads.Add((payload, _at));
                            Footer(id);
                            Sections.Add(new StreamSection(start, _at, idStr, IsDevice: true));
                        }

                        break;
                    }

                case 0x02 or 0x03:
                    {
                        uint id = (uint)Field(4, StreamFieldKind.SectionId);
                        if (id != ramId)
                        {
                            throw Unexpected($"a PART/END of section id {id}, which is not 'ram'");
                        }

                        RamRecords();
                        Footer(id);
                        Sections.Add(new StreamSection(start, _at, "ram", IsDevice: false));
                        break;
                    }

                case 0x00:
                    if (_at < _bytes.Length)
                    {
                        Field(1, StreamFieldKind.RecordType);
                        uint length = (uint)Field(4, StreamFieldKind.VmDescriptionLength);
                        Skip((int)length);
                    }

                    if (_at != _bytes.Length)
                    {
                        throw Unexpected($"{_bytes.Length - _at} bytes after the vmdesc");
                    }

                    return;
                default:
                    throw Unexpected($"record type 0x{type:x2}");
            }
        }
    }

    private void RamRecords()
    {
        while (true)
        {
            int wordAt = _at;
            ulong word = Field(8, StreamFieldKind.RamRecordWord);
            ulong flags = word & RamFlagMask;
            if (flags == RamEos)
            {
                return;
            }

            if (flags == RamMemSize)
            {
                ulong remaining = word & ~RamFlagMask;
                while (remaining > 0)
                {
                    IdStr();
                    remaining -= Field(8, StreamFieldKind.RamBlockLength);
                }

                continue;
            }

            if ((flags & RamContinue) == 0)
            {
                IdStr();
            }

            switch (flags & ~RamContinue)
            {
                case RamZero:
                    Field(1, StreamFieldKind.ZeroPageFill);
                    break;
                case RamPage:
                    PageRecords.Add((wordAt, _at));
                    PageData.Add((_at, _at + PageSize));
                    Skip(PageSize);
                    break;
                default:
                    throw Unexpected($"RAM flags 0x{flags:x}");
            }
        }
    }

    private void Footer(uint id)
    {
        Field(1, StreamFieldKind.FooterMarker);
        if ((uint)Field(4, StreamFieldKind.FooterSectionId) != id)
        {
            throw Unexpected($"a footer not naming section {id}");
        }
    }

    /// <summary>
    /// A device payload has no length on the wire: its end is the first footer naming its section id that is
    /// followed by another record type (or the end).
    /// </summary>
    private int FindFooter(uint id, int from)
    {
        for (int i = from; i + 5 <= _bytes.Length; i++)
        {
            if (_bytes[i] == 0x7E && BinaryPrimitives.ReadUInt32BigEndian(_bytes.AsSpan(i + 1)) == id
                && (i + 5 == _bytes.Length || _bytes[i + 5] is 0x00 or 0x01 or 0x02 or 0x03 or 0x04))
            {
                return i;
            }
        }

        throw Unexpected($"no footer for section {id}");
    }

    private string IdStr()
    {
        int length = (int)Field(1, StreamFieldKind.IdStrLength);
        string s = Encoding.ASCII.GetString(_bytes, _at, length);
        Skip(length);
        return s;
    }

    private ulong Field(int width, StreamFieldKind kind)
    {
        if (_at + width > _bytes.Length)
        {
            throw Unexpected($"the end inside a {kind} field");
        }

        Fields.Add(new StreamField(_at, width, kind));
        ReadOnlySpan<byte> b = _bytes.AsSpan(_at, width);
        _at += width;
        return width switch
        {
            1 => b[0],
            4 => BinaryPrimitives.ReadUInt32BigEndian(b),
            _ => BinaryPrimitives.ReadUInt64BigEndian(b),
        };
    }

    private void Skip(int n)
    {
        if (n < 0 || _at + n > _bytes.Length)
        {
            throw Unexpected($"a skip of {n} bytes past the end");
        }

        _at += n;
    }

    private InvalidDataException Unexpected(string what) =>
        new($"fuzz: the seed stream is not one this layout reads: {what} at offset 0x{_at:x}");
}
