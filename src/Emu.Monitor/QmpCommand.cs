namespace Emu.Monitor;

/// <summary>A registered command: its handler and whether it may run out of band (QEMU's QCO_ALLOW_OOB).</summary>
internal readonly record struct QmpCommand(QmpHandler Handler, bool AllowOob);
