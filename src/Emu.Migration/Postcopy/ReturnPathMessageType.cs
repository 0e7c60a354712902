namespace Emu.Migration.Postcopy;

/// <summary>
/// QEMU's MIG_RP_MSG_* (destination → source). Framing: be16 type, be16 length, payload.
/// <code>
/// type          value  length  payload
/// SHUT          1      4       be32 status (0 ok)
/// PONG          2      4       be32 echo of PING
/// REQ_PAGES_ID  3      13+n    be64 start, be32 len, u8 n, idstr
/// REQ_PAGES     4      12      be64 start, be32 len (block of the previous request)
/// RECV_BITMAP   5      1+n     u8 n, idstr; the bitmap follows on the stream
/// RESUME_ACK    6      4       be32 1
/// </code>
/// </summary>
public enum ReturnPathMessageType : ushort
{
    Invalid = 0,
    Shut = 1,
    Pong = 2,
    ReqPagesId = 3,
    ReqPages = 4,
    RecvBitmap = 5,
    ResumeAck = 6,
    SwitchoverAck = 7,
}
