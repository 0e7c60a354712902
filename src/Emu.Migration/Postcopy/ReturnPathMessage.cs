using System.Text;
using Emu.Migration.Stream;
using Emu.Migration.VmState;

namespace Emu.Migration.Postcopy;

/// <summary>
/// One return-path message, parsed and validated as QEMU's source_return_path_thread does. For REQ_PAGES the
/// block is null (same as the previous request); for REQ_PAGES_ID and RECV_BITMAP it is named.
/// </summary>
public readonly record struct ReturnPathMessage(ReturnPathMessageType Type, uint Value, ulong Start, uint Length, string? IdStr)
{
    /// <summary>QEMU's source reads at most this much payload per message.</summary>
    public const int MaxLength = 512;

    /// <summary>QEMU MIGRATION_RESUME_ACK_VALUE.</summary>
    public const uint ResumeAckValue = 1;

    public static ReturnPathMessage Shut(uint status) => new(ReturnPathMessageType.Shut, status, 0, 0, null);

    public static ReturnPathMessage Pong(uint value) => new(ReturnPathMessageType.Pong, value, 0, 0, null);

    /// <summary>QEMU migrate_send_rp_req_pages: REQ_PAGES_ID when a block is named, else REQ_PAGES.</summary>
    public static ReturnPathMessage ReqPages(string? idStr, ulong start, uint length) =>
        new(idStr == null ? ReturnPathMessageType.ReqPages : ReturnPathMessageType.ReqPagesId, 0, start, length, idStr);

    public static ReturnPathMessage RecvBitmap(string idStr) => new(ReturnPathMessageType.RecvBitmap, 0, 0, 0, idStr);

    public static ReturnPathMessage ResumeAck() => new(ReturnPathMessageType.ResumeAck, ResumeAckValue, 0, 0, null);

    /// <summary>Writes the framed message (the caller flushes).</summary>
    public void Write(MigrationStream s)
    {
        s.WriteU16((ushort)Type);
        switch (Type)
        {
            case ReturnPathMessageType.Shut:
            case ReturnPathMessageType.Pong:
            case ReturnPathMessageType.ResumeAck:
                s.WriteU16(4);
                s.WriteU32(Value);
                break;
            case ReturnPathMessageType.ReqPages:
                s.WriteU16(12);
                s.WriteU64(Start);
                s.WriteU32(Length);
                break;
            case ReturnPathMessageType.ReqPagesId:
                s.WriteU16((ushort)(13 + Encoding.ASCII.GetByteCount(IdStr!)));
                s.WriteU64(Start);
                s.WriteU32(Length);
                SaveVmWriter.WriteIdStr(s, IdStr!);
                break;
            case ReturnPathMessageType.RecvBitmap:
                s.WriteU16((ushort)(1 + Encoding.ASCII.GetByteCount(IdStr!)));
                SaveVmWriter.WriteIdStr(s, IdStr!);
                break;
            case ReturnPathMessageType.SwitchoverAck:
                s.WriteU16(0);
                break;
            default:
                throw new InvalidOperationException($"return path: cannot send message type {Type}");
        }
    }

    /// <summary>
    /// Reads one message; every framing error is a <see cref="MigrationStreamException"/> with QEMU's "RP:" text and
    /// the stream offset.
    /// </summary>
    public static ReturnPathMessage Read(MigrationStream s)
    {
        long at = s.Position;
        ushort type = s.ReadU16();
        ushort len = s.ReadU16();
        int expected = type switch
        {
            (ushort)ReturnPathMessageType.Shut or (ushort)ReturnPathMessageType.Pong or (ushort)ReturnPathMessageType.ResumeAck => 4,
            (ushort)ReturnPathMessageType.ReqPages => 12,
            (ushort)ReturnPathMessageType.SwitchoverAck => 0,
            (ushort)ReturnPathMessageType.ReqPagesId or (ushort)ReturnPathMessageType.RecvBitmap => -1,
            _ => throw new MigrationStreamException($"RP: Received invalid message 0x{type:x4} length 0x{len:x4} at stream offset 0x{at:x}"),
        };
        var t = (ReturnPathMessageType)type;
        if (expected >= 0 && len != expected)
        {
            throw new MigrationStreamException($"RP: Received '{t}' message (0x{type:x4}) with incorrect length {len} expecting {expected} at stream offset 0x{at:x}");
        }

        if (len > MaxLength)
        {
            throw new MigrationStreamException($"RP: Received '{t}' message (0x{type:x4}) with length {len} above {MaxLength} at stream offset 0x{at:x}");
        }

        switch (t)
        {
            case ReturnPathMessageType.Shut:
            case ReturnPathMessageType.Pong:
            case ReturnPathMessageType.ResumeAck:
                return new ReturnPathMessage(t, s.ReadU32(), 0, 0, null);
            case ReturnPathMessageType.ReqPages:
                return new ReturnPathMessage(t, 0, s.ReadU64(), s.ReadU32(), null);
            case ReturnPathMessageType.ReqPagesId:
                {
                    if (len < 13)
                    {
                        throw new MigrationStreamException($"RP: Req_Page_id with length {len} expecting at least 13 at stream offset 0x{at:x}");
                    }

                    ulong start = s.ReadU64();
                    uint length = s.ReadU32();
                    string id = SaveVmWriter.ReadIdStr(s);
                    if (len != 13 + id.Length)
                    {
                        throw new MigrationStreamException($"RP: Req_Page_id with length {len} expecting {13 + id.Length} at stream offset 0x{at:x}");
                    }

                    return new ReturnPathMessage(t, 0, start, length, id);
                }

            case ReturnPathMessageType.RecvBitmap:
                {
                    if (len < 1)
                    {
                        throw new MigrationStreamException($"RP: Received 'RecvBitmap' message (0x0005) with incorrect length 0 at stream offset 0x{at:x}");
                    }

                    string id = SaveVmWriter.ReadIdStr(s);
                    if (len != 1 + id.Length)
                    {
                        throw new MigrationStreamException($"RP: Received 'RecvBitmap' message (0x0005) with length {len} expecting {1 + id.Length} at stream offset 0x{at:x}");
                    }

                    return new ReturnPathMessage(t, 0, 0, 0, id);
                }

            default:
                return new ReturnPathMessage(t, 0, 0, 0, null);
        }
    }
}
