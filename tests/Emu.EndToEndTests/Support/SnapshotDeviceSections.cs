using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace Emu.EndToEndTests.Support;

/// <summary>
/// The device sections of a savevm stream written by <c>migrate file:</c>, found byte-exactly so a test can cut one
/// out and keep the rest valid. The trailing JSON vmdesc names every device section in stream order (name,
/// instance, version); each FULL section starts with its header
/// <c>0x04, be32 section id, u8 len + idstr, be32 instance, be32 version</c> and runs to the next one's header, the
/// last one to the EOF byte before the vmdesc.
/// </summary>
public sealed class SnapshotDeviceSections
{
    public const byte SectionFull = 0x04, Eof = 0x00, VmDescription = 0x06;

    private SnapshotDeviceSections(byte[] stream, List<Section> sections)
    {
        Stream = stream;
        Sections = sections;
    }

    /// <summary>One device section: its name and instance, and the byte range [Start, End) it takes.</summary>
    public sealed record Section(string Name, int Instance, int Start, int End);

    public byte[] Stream { get; }

    public IReadOnlyList<Section> Sections { get; }

    public static SnapshotDeviceSections Parse(byte[] stream)
    {
        int vmdesc = FindVmDescription(stream);
        var json = JsonNode.Parse(Encoding.UTF8.GetString(stream, vmdesc + 5, stream.Length - vmdesc - 5))!.AsObject();
        JsonArray devices = json["devices"]!.AsArray();
        var starts = new List<(string Name, int Instance, int Start)>();
        int from = 0;
        foreach (JsonNode? device in devices)
        {
            string name = device!["name"]!.GetValue<string>();
            int instance = device["instance_id"]!.GetValue<int>();
            int version = device["version"]!.GetValue<int>();
            int start = FindHeader(stream, from, name, instance, version);
            starts.Add((name, instance, start));
            from = start + 1;
        }

        var sections = new List<Section>(starts.Count);
        for (int i = 0; i < starts.Count; i++)
        {
            int end = i + 1 < starts.Count ? starts[i + 1].Start : vmdesc - 1;
            sections.Add(new Section(starts[i].Name, starts[i].Instance, starts[i].Start, end));
        }

        if (stream[vmdesc - 1] != Eof)
        {
            throw new InvalidDataException($"e2e: no EOF byte before the vmdesc at 0x{vmdesc:x}");
        }

        return new SnapshotDeviceSections(stream, sections);
    }

    /// <summary>The stream without <paramref name="section"/>: every other byte as it was.</summary>
    public byte[] Without(Section section) => [.. Stream.AsSpan(0, section.Start), .. Stream.AsSpan(section.End)];

    /// <summary>The bytes of every device section but <paramref name="left"/>, back to back (a postcopy package's middle).</summary>
    public byte[] DeviceStateWithout(Section left)
    {
        var bytes = new List<byte>();
        foreach (Section s in Sections)
        {
            if (s != left)
            {
                bytes.AddRange(Stream.AsSpan(s.Start, s.End - s.Start));
            }
        }

        return [.. bytes];
    }

    public Section Find(string name, int instance = 0) =>
        Sections.FirstOrDefault(s => s.Name == name && s.Instance == instance)
        ?? throw new InvalidDataException($"e2e: the snapshot has no section '{name}' (instance {instance})");

    /// <summary>QEMU_VM_VMDESCRIPTION, be32 length reaching the end of the stream, right after the EOF byte.</summary>
    private static int FindVmDescription(byte[] stream)
    {
        for (int at = stream.Length - 5; at > 0; at--)
        {
            if (stream[at] == VmDescription && stream[at - 1] == Eof
                && BinaryPrimitives.ReadUInt32BigEndian(stream.AsSpan(at + 1)) == stream.Length - at - 5)
            {
                return at;
            }
        }

        throw new InvalidDataException("e2e: the snapshot has no vmdesc after EOF");
    }

    /// <summary>The first FULL header at or after <paramref name="from"/> with this name, instance and version.</summary>
    private static int FindHeader(byte[] stream, int from, string name, int instance, int version)
    {
        byte[] tail = new byte[1 + name.Length + 8];
        tail[0] = (byte)name.Length;
        Encoding.ASCII.GetBytes(name, tail.AsSpan(1));
        BinaryPrimitives.WriteUInt32BigEndian(tail.AsSpan(1 + name.Length), (uint)instance);
        BinaryPrimitives.WriteUInt32BigEndian(tail.AsSpan(5 + name.Length), (uint)version);
        for (int at = from; at + 5 + tail.Length <= stream.Length; at++)
        {
            int i = stream.AsSpan(at).IndexOf(tail);
            if (i < 0)
            {
                break;
            }

            int header = at + i - 5;
            if (header >= from && stream[header] == SectionFull)
            {
                return header;
            }

            at += i;
        }

        throw new InvalidDataException($"e2e: no FULL section header for '{name}' instance {instance} version {version}");
    }
}
