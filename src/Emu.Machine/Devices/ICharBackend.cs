namespace Emu.Machine.Devices;

/// <summary>Where a character device's output goes (QEMU chardev): stdout, a file, or nowhere.</summary>
public interface ICharBackend
{
    void Write(ReadOnlySpan<byte> data);
}
