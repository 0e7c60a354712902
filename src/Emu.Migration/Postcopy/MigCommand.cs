namespace Emu.Migration.Postcopy;

/// <summary>
/// QEMU's MIG_CMD_* carried in QEMU_VM_COMMAND records on the main stream (0x08, be16 cmd, be16 length, payload).
/// <code>
/// cmd                  value  payload
/// OPEN_RETURN_PATH     1      none
/// PING                 2      be32 value (answered by PONG)
/// POSTCOPY_ADVISE      3      be64 page-size summary, be64 target page size
/// POSTCOPY_LISTEN      4      none
/// POSTCOPY_RUN         5      none
/// POSTCOPY_RAM_DISCARD 6      u8 version 0, u8 n, idstr, '\0', k × (be64 start, be64 length)
/// PACKAGED             7      be32 length + that many bytes of nested stream
/// POSTCOPY_RESUME      9      none
/// RECV_BITMAP          10     u8 n, idstr
/// </code>
/// </summary>
public enum MigCommand : ushort
{
    Invalid = 0,
    OpenReturnPath = 1,
    Ping = 2,
    PostcopyAdvise = 3,
    PostcopyListen = 4,
    PostcopyRun = 5,
    PostcopyRamDiscard = 6,
    Packaged = 7,
    EnableColo = 8,
    PostcopyResume = 9,
    RecvBitmap = 10,
    SwitchoverStart = 11,
}
