namespace Emu.Migration;

/// <summary>
/// A migration request refused (QEMU's Error from qmp_migrate and friends): the message is QEMU's text where one
/// exists, so the QMP layer returns it as the GenericError desc unchanged.
/// </summary>
public sealed class MigrationException(string message) : Exception(message);
