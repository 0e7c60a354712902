using System.Buffers.Binary;

namespace Emu.Machine.Devices.Pci;

/// <summary>
/// A PCI function's 256-byte configuration space with its write mask (QEMU's config/wmask): a guest write changes
/// only the bits the mask allows, so read-only IDs, class codes and BAR size bits keep their values.
/// </summary>
public sealed class PciConfigSpace
{
    public const int Size = 256;
    public const int VendorId = 0x00, DeviceId = 0x02, Command = 0x04, Status = 0x06, Revision = 0x08, ProgIf = 0x09,
        SubClass = 0x0A, ClassCode = 0x0B, HeaderType = 0x0E, Bar0 = 0x10, SubsystemVendorId = 0x2C, SubsystemId = 0x2E,
        InterruptLine = 0x3C, InterruptPin = 0x3D;

    public const ushort CommandIo = 1, CommandMemory = 2, CommandMaster = 4;

    private readonly byte[] _bytes = new byte[Size];
    private readonly byte[] _writeMask = new byte[Size];

    public PciConfigSpace(ushort vendor, ushort device, byte revision, byte classCode, byte subClass, byte progIf, byte headerType = 0)
    {
        SetU16(VendorId, vendor);
        SetU16(DeviceId, device);
        _bytes[Revision] = revision;
        _bytes[ProgIf] = progIf;
        _bytes[SubClass] = subClass;
        _bytes[ClassCode] = classCode;
        _bytes[HeaderType] = headerType;

        // Every function lets the guest set its command register's decode/master bits and the interrupt line.
        Writable(Command, 2, 0x0107);
        Writable(InterruptLine, 1, 0xFF);
    }

    /// <summary>The raw bytes (state save, tests).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    public byte U8(int offset) => _bytes[offset];

    public ushort U16(int offset) => BinaryPrimitives.ReadUInt16LittleEndian(_bytes.AsSpan(offset));

    public uint U32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_bytes.AsSpan(offset));

    /// <summary>Sets bytes as the device (not the guest) does: reset values, read-only fields.</summary>
    public void SetU8(int offset, byte value) => _bytes[offset] = value;

    public void SetU16(int offset, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(_bytes.AsSpan(offset), value);

    public void SetU32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_bytes.AsSpan(offset), value);

    /// <summary>Lets the guest write <paramref name="mask"/>'s bits in <paramref name="length"/> bytes from <paramref name="offset"/>.</summary>
    public void Writable(int offset, int length, uint mask)
    {
        for (int i = 0; i < length; i++)
        {
            _writeMask[offset + i] = (byte)(mask >> (8 * i));
        }
    }

    /// <summary>A 32-bit memory BAR of <paramref name="size"/> bytes (a power of two): the low bits read as the size mask.</summary>
    public void MemoryBar(int index, uint size, bool prefetchable)
    {
        int offset = Bar0 + (4 * index);
        SetU32(offset, prefetchable ? 8u : 0u);
        Writable(offset, 4, ~(size - 1));
    }

    /// <summary>An I/O BAR of <paramref name="size"/> ports: bit 0 reads 1.</summary>
    public void IoBar(int index, uint size)
    {
        int offset = Bar0 + (4 * index);
        SetU32(offset, 1);
        Writable(offset, 4, ~(size - 1) & 0xFFFF_FFFC);
    }

    /// <summary>A guest write of <paramref name="size"/> bytes, masked.</summary>
    public void GuestWrite(int offset, int size, uint value)
    {
        for (int i = 0; i < size && offset + i < Size; i++)
        {
            byte m = _writeMask[offset + i];
            _bytes[offset + i] = (byte)((_bytes[offset + i] & ~m) | ((byte)(value >> (8 * i)) & m));
        }
    }

    public uint GuestRead(int offset, int size) => size switch
    {
        1 => _bytes[offset],
        2 => U16(offset),
        _ => U32(offset),
    };

    /// <summary>The bits of the byte at <paramref name="offset"/> a guest write may change.</summary>
    public byte WriteMask(int offset) => _writeMask[offset];

    /// <summary>
    /// QEMU get_pci_config_device's check: the first offset at which <paramref name="saved"/> differs from this
    /// space in a bit no guest write can change (IDs, class, BAR type and size bits), or -1. Those bits are the
    /// device's from power-on, so a saved space that differs there is not this device's.
    /// </summary>
    public int FirstReadOnlyDifference(ReadOnlySpan<byte> saved)
    {
        for (int i = 0; i < Size; i++)
        {
            if (((saved[i] ^ _bytes[i]) & ~_writeMask[i]) != 0)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Replaces the bytes with saved ones (the write mask, which is the device's, stays).</summary>
    public void Restore(ReadOnlySpan<byte> bytes) => bytes.CopyTo(_bytes);
}
