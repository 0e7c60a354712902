namespace Emu.Migration.Precopy;

/// <summary>
/// QEMU's MigrationStatus, names in <see cref="MigrationStatusNames"/>. Legal transitions (the rest are refused
/// by <see cref="MigrationStateMachine"/>):
/// <code>
/// none ─► setup ─► active ─────────────────────────► completed
///           │        │ ├─► pre-switchover ─► device ─┘
///           │        │ │        └──────────► postcopy-active ⇄ postcopy-paused ⇄ postcopy-recover
///           │        │ └─► postcopy-active ─► completed
///           ▼        ▼
///   any running but postcopy-* ─► cancelling ─► cancelled        any running ─► failed
/// completed / failed / cancelled ─► none (a new migration)
/// </code>
/// </summary>
public enum MigrationStatus
{
    None,
    Setup,
    Cancelling,
    Cancelled,
    Active,
    PostcopyActive,
    PostcopyPaused,
    PostcopyRecover,
    Completed,
    Failed,
    PreSwitchover,
    Device,
}
