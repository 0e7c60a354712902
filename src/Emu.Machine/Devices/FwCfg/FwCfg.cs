using System.Buffers.Binary;
using System.Text;
using Emu.Machine.Io;
using Emu.Machine.State;

namespace Emu.Machine.Devices.FwCfg;

/// <summary>
/// QEMU's firmware configuration device, I/O interface (hw/nvram/fw_cfg.c, docs/specs/fw_cfg.rst): write a
/// 16-bit key to the selector at 0x510, then read the item's bytes one at a time from 0x511. Emu offers the
/// traditional interface only (FW_CFG_ID = 1, no DMA). Items are configured before the guest starts; adding a
/// file re-sorts the directory by name, as QEMU does.
/// </summary>
/// <remarks>
/// File directory (key 0x19), big-endian: u32 count, then per file: u32 size, u16 select, u16 reserved,
/// char name[56] (NUL-terminated).
/// </remarks>
public sealed class FwCfg : IIoDevice, IVmState<FwCfgState>
{
    public const ushort SelectorPort = 0x510;
    public const ushort DataPort = 0x511;
    public const int MaxFileNameBytes = 55;

    public static readonly VmStateDescription<FwCfgState> StateDescription = new(
        "fw_cfg", version: 1, minimumVersion: 1, () => new FwCfgState(),
        [
            VmField.U16<FwCfgState>("cur_entry", s => s.CurEntry, (s, v) => s with { CurEntry = v }),
            VmField.U32<FwCfgState>("cur_offset", s => s.CurOffset, (s, v) => s with { CurOffset = v }),
        ],
        validate: Validate);

    private readonly Dictionary<ushort, byte[]> _items = [];
    private readonly List<KeyValuePair<string, byte[]>> _files = [];
    private ushort _curEntry = FwCfgKey.Invalid;
    private uint _curOffset;

    /// <summary>The items every PC has: signature, id, RAM size, CPU count, boot device, and an empty directory.</summary>
    public FwCfg(ulong ramSizeBytes, ushort cpuCount = 1, char bootDevice = 'c', bool bootMenu = false)
    {
        AddBytes(FwCfgKey.Signature, "QEMU"u8.ToArray());
        AddU32(FwCfgKey.Id, 1);
        AddBytes(FwCfgKey.Uuid, new byte[16]);
        AddU64(FwCfgKey.RamSize, ramSizeBytes);
        AddU16(FwCfgKey.NoGraphic, 0);
        AddU16(FwCfgKey.NbCpus, cpuCount);
        AddU16(FwCfgKey.MaxCpus, cpuCount);
        AddU16(FwCfgKey.BootDevice, bootDevice);
        AddU16(FwCfgKey.BootMenu, bootMenu ? (ushort)1 : (ushort)0);
        RebuildFileDirectory();
    }

    public string SectionName => StateDescription.Name;

    public VmStateDescription<FwCfgState> Vmsd => StateDescription;

    public void Register(IoBus bus) => bus.Register(SelectorPort, 2, this);

    public void AddU16(ushort key, ushort value)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        AddBytes(key, b);
    }

    public void AddU32(ushort key, uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        AddBytes(key, b);
    }

    public void AddU64(ushort key, ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        AddBytes(key, b);
    }

    /// <summary>Sets a numbered item (below <see cref="FwCfgKey.FileFirst"/>, or an arch-local one); replaces any old value.</summary>
    public void AddBytes(ushort key, byte[] data)
    {
        int entry = key & FwCfgKey.EntryMask;
        bool arch = (key & FwCfgKey.ArchLocal) != 0;
        if ((key & FwCfgKey.WriteChannel) != 0 || (!arch && (entry >= FwCfgKey.FileFirst || key == FwCfgKey.FileDir)) || entry >= FwCfgKey.MaxEntry)
        {
            throw new ArgumentOutOfRangeException(nameof(key), $"fw_cfg: key 0x{key:x4} is not a numbered item (files go through AddFile)");
        }

        _items[key] = (byte[])data.Clone();
    }

    /// <summary>QEMU fw_cfg_add_file: a named blob, listed in the directory in name order.</summary>
    public void AddFile(string name, byte[] data)
    {
        int nameBytes = Encoding.ASCII.GetByteCount(name);
        if (nameBytes == 0 || nameBytes > MaxFileNameBytes)
        {
            throw new ArgumentException($"fw_cfg: file name '{name}' is {nameBytes} bytes, expected 1 to {MaxFileNameBytes}", nameof(name));
        }

        if (_files.Count >= FwCfgKey.FileSlots)
        {
            throw new InvalidOperationException($"fw_cfg: no slot left for '{name}', all {FwCfgKey.FileSlots} are used");
        }

        int at = 0;
        while (at < _files.Count && string.CompareOrdinal(_files[at].Key, name) < 0)
        {
            at++;
        }

        if (at < _files.Count && _files[at].Key == name)
        {
            throw new ArgumentException($"fw_cfg: file '{name}' already exists", nameof(name));
        }

        _files.Insert(at, new(name, (byte[])data.Clone()));
        RebuildFileDirectory();
    }

    /// <summary>The selector the named file got, or -1.</summary>
    public int FileKey(string name)
    {
        int i = _files.FindIndex(f => f.Key == name);
        return i < 0 ? -1 : FwCfgKey.FileFirst + i;
    }

    /// <summary>Every read in the device's range reads the data port (QEMU fw_cfg_comb_read).</summary>
    public uint IoRead(ushort port, int size)
    {
        // Wider reads take consecutive bytes, first byte most significant (QEMU fw_cfg_data_read).
        uint value = 0;
        for (int i = 0; i < size; i++)
        {
            value = (value << 8) | ReadDataByte();
        }

        return value;
    }

    public void IoWrite(ushort port, int size, uint value)
    {
        if (port == SelectorPort)
        {
            Select((ushort)value);
        }

        // Data port writes are ignored, as in QEMU since 2.4.
    }

    public FwCfgState Save() => new() { CurEntry = _curEntry, CurOffset = _curOffset };

    public void Load(FwCfgState state)
    {
        StateCheck.Require(SectionName, Validate(state));
        int length = state.CurEntry == FwCfgKey.Invalid ? 0 : Item(state.CurEntry)?.Length ?? 0;
        if (state.CurOffset > length)
        {
            StateCheck.Require(SectionName, $"cur_offset {state.CurOffset} is past the end of item 0x{state.CurEntry:x4} ({length} bytes)");
        }

        _curEntry = state.CurEntry;
        _curOffset = state.CurOffset;
    }

    private static string? Validate(FwCfgState s)
    {
        if (s.CurEntry != FwCfgKey.Invalid &&
            ((s.CurEntry & FwCfgKey.WriteChannel) != 0 || (s.CurEntry & FwCfgKey.EntryMask) >= FwCfgKey.MaxEntry))
        {
            return $"cur_entry 0x{s.CurEntry:x4} is not a key, expected below 0x{FwCfgKey.MaxEntry:x} or 0xffff";
        }

        return null;
    }

    /// <summary>QEMU fw_cfg_select: an out-of-range key selects nothing.</summary>
    private void Select(ushort key)
    {
        _curOffset = 0;
        _curEntry = (key & FwCfgKey.EntryMask) >= FwCfgKey.MaxEntry ? FwCfgKey.Invalid : (ushort)(key & ~FwCfgKey.WriteChannel);
    }

    private byte ReadDataByte()
    {
        if (_curEntry == FwCfgKey.Invalid)
        {
            return 0;
        }

        byte[]? item = Item(_curEntry);
        if (item == null || _curOffset >= item.Length)
        {
            return 0;
        }

        return item[_curOffset++];
    }

    private byte[]? Item(ushort key)
    {
        int entry = key & FwCfgKey.EntryMask;
        if ((key & FwCfgKey.ArchLocal) == 0 && entry >= FwCfgKey.FileFirst)
        {
            int i = entry - FwCfgKey.FileFirst;
            return i < _files.Count ? _files[i].Value : null;
        }

        return _items.GetValueOrDefault(key);
    }

    private void RebuildFileDirectory()
    {
        var dir = new byte[4 + (64 * _files.Count)];
        BinaryPrimitives.WriteUInt32BigEndian(dir, (uint)_files.Count);
        for (int i = 0; i < _files.Count; i++)
        {
            Span<byte> e = dir.AsSpan(4 + (64 * i), 64);
            BinaryPrimitives.WriteUInt32BigEndian(e, (uint)_files[i].Value.Length);
            BinaryPrimitives.WriteUInt16BigEndian(e[4..], (ushort)(FwCfgKey.FileFirst + i));
            Encoding.ASCII.GetBytes(_files[i].Key, e[8..]);
        }

        _items[FwCfgKey.FileDir] = dir;
    }
}
