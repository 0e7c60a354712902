using System.Text;
using Emu.Machine.State;
using Emu.Migration.Stream;

namespace Emu.Migration.VmState;

/// <summary>
/// QEMU qemu_loadvm_state: reads a savevm stream, checks the header and configuration, and dispatches each section
/// to its handler: live sections (RAM) chunk by chunk, device sections once. Everything it does not know — a
/// section name, instance, version, section id or record type — ends the load with one
/// <see cref="MigrationStreamException"/> naming it and the stream offset.
/// </summary>
public sealed class VmStateLoader
{
    private readonly Dictionary<(string, uint), IVmStateDevice> _devices = [];
    private readonly Dictionary<(string, uint), ILiveSectionLoader> _live = [];
    private readonly Dictionary<uint, ILiveSectionLoader> _liveById = [];
    private readonly HashSet<uint> _seenIds = [];

    // Shared with the loaders of PACKAGED blobs made by ForPackage: the device state of one migration is what
    // arrived on the main stream and in its packages together.
    private readonly HashSet<(string, uint)> _devicesLoaded;
    private readonly IVmCommandHandler? _commands;
    private readonly string _machineType;

    public VmStateLoader(
        IEnumerable<IVmStateDevice> devices,
        IEnumerable<ILiveSectionLoader> live,
        IVmCommandHandler? commands = null,
        string machineType = SaveVmFormat.MachineType)
    {
        foreach (IVmStateDevice d in devices)
        {
            _devices.Add((d.SectionName, (uint)d.InstanceId), d);
        }

        foreach (ILiveSectionLoader l in live)
        {
            _live.Add((l.IdStr, l.InstanceId), l);
        }

        _commands = commands;
        _machineType = machineType;
        _devicesLoaded = [];
    }

    private VmStateLoader(VmStateLoader main, IVmCommandHandler? commands)
    {
        _devices = main._devices;
        _devicesLoaded = main._devicesLoaded;
        _commands = commands;
        _machineType = main._machineType;
    }

    /// <summary>
    /// A loader for a PACKAGED blob (QEMU loadvm_handle_cmd_packaged): the same device sections, no live ones, and
    /// the device sections it loads count as loaded here too (<see cref="MissingDevices"/>).
    /// </summary>
    public VmStateLoader ForPackage(IVmCommandHandler? commands) => new(this, commands);

    /// <summary>
    /// Whether a JSON vmdesc may follow EOF (precopy). A postcopy stream ends at EOF: peeking for a vmdesc there
    /// would wait for the source to close the channel.
    /// </summary>
    public bool ExpectVmDescription { get; set; } = true;

    /// <summary>Device sections loaded so far, for checks after the load.</summary>
    public int DeviceSectionsLoaded { get; private set; }

    /// <summary>
    /// Those of <paramref name="expected"/> whose section has not been loaded, here or by a package loader made from
    /// this one, in the order given. A destination calls it where the device state ends (EOF, or postcopy's RUN):
    /// a device left with its reset state would run a guest that is not the source's.
    /// </summary>
    public List<IVmStateDevice> MissingDevices(IEnumerable<IVmStateDevice> expected)
    {
        var missing = new List<IVmStateDevice>();
        foreach (IVmStateDevice d in expected)
        {
            if (!_devicesLoaded.Contains((d.SectionName, (uint)d.InstanceId)))
            {
                missing.Add(d);
            }
        }

        return missing;
    }

    /// <summary>Header, configuration, then sections until EOF (true) or a command ends the loop (false).</summary>
    public bool Load(MigrationStream s)
    {
        ReadHeader(s);
        return LoadSections(s);
    }

    /// <summary>QEMU qemu_loadvm_state header part: magic, version, configuration section.</summary>
    public void ReadHeader(MigrationStream s)
    {
        uint magic = s.ReadU32();
        if (magic != SaveVmFormat.FileMagic)
        {
            throw new MigrationStreamException($"savevm: wrong magic 0x{magic:x8} at stream offset 0x0, expected 0x{SaveVmFormat.FileMagic:x8} (QEVM)");
        }

        uint version = s.ReadU32();
        if (version != SaveVmFormat.FileVersion)
        {
            throw new MigrationStreamException($"savevm: unsupported stream version {version} at stream offset 0x4, expected {SaveVmFormat.FileVersion}");
        }

        long at = s.Position;
        byte type = s.ReadU8();
        if (type != (byte)SectionType.Configuration)
        {
            throw new MigrationStreamException($"savevm: configuration section missing at stream offset 0x{at:x}: found record type 0x{type:x2}, expected 0x{(byte)SectionType.Configuration:x2}");
        }

        uint len = s.ReadU32();
        if (len > SaveVmFormat.MaxConfigurationNameLength)
        {
            throw new MigrationStreamException($"savevm: machine type name of {len} bytes at stream offset 0x{at + 1:x}, at most {SaveVmFormat.MaxConfigurationNameLength}");
        }

        byte[] name = new byte[len];
        s.ReadBytes(name);
        string machine = WireText.Printable(name);
        if (machine != _machineType)
        {
            throw new MigrationStreamException($"savevm: machine type received is '{machine}' and local is '{_machineType}' (stream offset 0x{at:x})");
        }
    }

    /// <summary>The section loop (qemu_loadvm_state_main). Returns true at EOF, false when a command ends it.</summary>
    public bool LoadSections(MigrationStream s)
    {
        while (true)
        {
            long at = s.Position;
            byte type = s.ReadU8();
            switch ((SectionType)type)
            {
                case SectionType.SectionStart:
                case SectionType.SectionFull:
                    LoadStartOrFull(s, (SectionType)type, at);
                    break;
                case SectionType.SectionPart:
                case SectionType.SectionEnd:
                    LoadPartOrEnd(s, (SectionType)type, at);
                    break;
                case SectionType.Command:
                    if (!LoadCommand(s, at))
                    {
                        return false;
                    }

                    break;
                case SectionType.Eof:
                    if (ExpectVmDescription)
                    {
                        SkipVmDescription(s);
                    }

                    return true;
                default:
                    throw new MigrationStreamException($"savevm: unknown record type 0x{type:x2} at stream offset 0x{at:x}");
            }
        }
    }

    private void LoadStartOrFull(MigrationStream s, SectionType type, long at)
    {
        uint id = s.ReadU32();
        string idStr = SaveVmWriter.ReadIdStr(s);
        uint instance = s.ReadU32();
        uint version = s.ReadU32();
        if (!_seenIds.Add(id))
        {
            throw new MigrationStreamException($"savevm: section id {id} of '{idStr}' at stream offset 0x{at:x} is already in use");
        }

        if (_live.TryGetValue((idStr, instance), out ILiveSectionLoader? live))
        {
            if (version != live.Version)
            {
                throw new MigrationStreamException($"savevm: section '{idStr}' version {version} at stream offset 0x{at:x} is not supported, expected {live.Version}");
            }

            _liveById[id] = live;
            live.Load(s, (int)version, type);
        }
        else if (type == SectionType.SectionFull && _devices.TryGetValue((idStr, instance), out IVmStateDevice? device))
        {
            IVmStateDescription d = device.Description;
            if (version > d.Version || version < d.MinimumVersion)
            {
                throw new MigrationStreamException($"savevm: section '{idStr}' version {version} at stream offset 0x{at:x} is not supported, this build loads {d.MinimumVersion} to {d.Version}");
            }

            try
            {
                device.LoadState(s, (int)version);
            }
            catch (VmStateException e)
            {
                throw new MigrationStreamException($"savevm: section '{idStr}' instance {instance} at stream offset 0x{at:x}: {e.Message}", e);
            }

            DeviceSectionsLoaded++;
            _devicesLoaded.Add((idStr, instance));
        }
        else
        {
            throw new MigrationStreamException($"savevm: unknown section '{idStr}' instance {instance} at stream offset 0x{at:x}");
        }

        CheckFooter(s, id, idStr);
    }

    private void LoadPartOrEnd(MigrationStream s, SectionType type, long at)
    {
        uint id = s.ReadU32();
        if (!_liveById.TryGetValue(id, out ILiveSectionLoader? live))
        {
            throw new MigrationStreamException($"savevm: unknown section id {id} at stream offset 0x{at:x}");
        }

        live.Load(s, live.Version, type);
        CheckFooter(s, id, live.IdStr);
    }

    private bool LoadCommand(MigrationStream s, long at)
    {
        ushort cmd = s.ReadU16();
        ushort len = s.ReadU16();
        if (_commands == null)
        {
            throw new MigrationStreamException($"savevm: unexpected command {cmd} (length {len}) at stream offset 0x{at:x}");
        }

        return _commands.Handle(s, cmd, len);
    }

    private static void CheckFooter(MigrationStream s, uint id, string idStr)
    {
        long at = s.Position;
        byte marker = s.ReadU8();
        if (marker != (byte)SectionType.SectionFooter)
        {
            throw new MigrationStreamException($"savevm: footer of section '{idStr}' (id {id}) missing at stream offset 0x{at:x}: found 0x{marker:x2}, expected 0x7e");
        }

        uint footerId = s.ReadU32();
        if (footerId != id)
        {
            throw new MigrationStreamException($"savevm: footer of section '{idStr}' at stream offset 0x{at:x} names section id {footerId}, expected {id}");
        }
    }

    /// <summary>QEMU reads the vmdesc after EOF so a sender never blocks on it; the content is not needed here.</summary>
    private static void SkipVmDescription(MigrationStream s)
    {
        long at = s.Position;
        if (s.PeekU8() != (int)SectionType.VmDescription)
        {
            return;
        }

        s.ReadU8();
        uint len = s.ReadU32();
        if (len > SaveVmFormat.MaxVmDescriptionLength)
        {
            throw new MigrationStreamException($"savevm: vmdesc of {len} bytes at stream offset 0x{at:x}, at most {SaveVmFormat.MaxVmDescriptionLength}");
        }

        s.Skip(len);
    }
}
