namespace Emu.Monitor.Server;

/// <summary>The socket family a QMP endpoint listens on.</summary>
public enum QmpEndpointKind
{
    Unix,
    Tcp,
}
