namespace Emu.Monitor;

/// <summary>
/// A QMP command's refusal: becomes <c>{"error": {"class": ErrorClass, "desc": Desc}}</c>. Classes are QEMU's:
/// GenericError, CommandNotFound, DeviceNotActive, DeviceNotFound, KVMMissingCap.
/// </summary>
public sealed class QmpException(string errorClass, string desc) : Exception(desc)
{
    public string ErrorClass { get; } = errorClass;

    public static QmpException Generic(string desc) => new("GenericError", desc);
}
