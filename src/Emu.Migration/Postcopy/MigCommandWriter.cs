using System.Text;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.Migration.Postcopy;

/// <summary>QEMU's qemu_savevm_send_* for command records (savevm.c qemu_savevm_command_send).</summary>
public static class MigCommandWriter
{
    /// <summary>QEMU MAX_DISCARDS_PER_COMMAND: ranges in one POSTCOPY_RAM_DISCARD.</summary>
    public const int MaxDiscardsPerCommand = 12;

    public static void Send(MigrationStream s, MigCommand cmd, ReadOnlySpan<byte> payload)
    {
        s.WriteU8((byte)SectionType.Command);
        s.WriteU16((ushort)cmd);
        s.WriteU16(checked((ushort)payload.Length));
        s.WriteBytes(payload);
    }

    public static void SendOpenReturnPath(MigrationStream s) => Send(s, MigCommand.OpenReturnPath, []);

    public static void SendPing(MigrationStream s, uint value)
    {
        Span<byte> p = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(p, value);
        Send(s, MigCommand.Ping, p);
    }

    /// <summary>POSTCOPY_ADVISE: the OR of all block page sizes, then the target page size.</summary>
    public static void SendPostcopyAdvise(MigrationStream s, ulong pageSizeSummary, ulong targetPageSize)
    {
        Span<byte> p = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(p, pageSizeSummary);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(p[8..], targetPageSize);
        Send(s, MigCommand.PostcopyAdvise, p);
    }

    /// <summary>
    /// QEMU qemu_savevm_send_postcopy_ram_discard: version 0, the block name NUL-terminated, then up to
    /// <see cref="MaxDiscardsPerCommand"/> (start, length) byte ranges.
    /// </summary>
    public static void SendPostcopyRamDiscard(MigrationStream s, string idStr, ReadOnlySpan<(ulong Start, ulong Length)> ranges)
    {
        if (ranges.Length > MaxDiscardsPerCommand)
        {
            throw new ArgumentException($"postcopy: {ranges.Length} discard ranges in one command, at most {MaxDiscardsPerCommand}", nameof(ranges));
        }

        byte[] name = Encoding.ASCII.GetBytes(idStr);
        byte[] p = new byte[2 + name.Length + 1 + (16 * ranges.Length)];
        p[0] = 0;
        p[1] = (byte)name.Length;
        name.CopyTo(p, 2);
        int at = 2 + name.Length + 1;
        foreach ((ulong start, ulong length) in ranges)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(at), start);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(p.AsSpan(at + 8), length);
            at += 16;
        }

        Send(s, MigCommand.PostcopyRamDiscard, p);
    }

    public static void SendPostcopyListen(MigrationStream s) => Send(s, MigCommand.PostcopyListen, []);

    public static void SendPostcopyRun(MigrationStream s) => Send(s, MigCommand.PostcopyRun, []);

    public static void SendPostcopyResume(MigrationStream s) => Send(s, MigCommand.PostcopyResume, []);

    /// <summary>RECV_BITMAP: ask the destination for one block's received bitmap (recovery).</summary>
    public static void SendRecvBitmap(MigrationStream s, string idStr)
    {
        byte[] name = Encoding.ASCII.GetBytes(idStr);
        byte[] p = new byte[1 + name.Length];
        p[0] = (byte)name.Length;
        name.CopyTo(p, 1);
        Send(s, MigCommand.RecvBitmap, p);
    }

    /// <summary>PACKAGED: be32 length then the nested stream (listen, device state, ping, run).</summary>
    public static void SendPackaged(MigrationStream s, ReadOnlySpan<byte> package)
    {
        Span<byte> len = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(len, (uint)package.Length);
        s.WriteU8((byte)SectionType.Command);
        s.WriteU16((ushort)MigCommand.Packaged);
        s.WriteU16(4);
        s.WriteBytes(len);
        s.WriteBytes(package);
    }
}
