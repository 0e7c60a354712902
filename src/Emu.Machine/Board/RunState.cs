namespace Emu.Machine.Board;

/// <summary>
/// The machine's run state, as QEMU's RunState (names on the wire via <see cref="RunStateNames"/>).
/// prelaunch → running ⇄ paused; running → finish-migrate → postmigrate (source after migration);
/// inmigrate → running (destination); any → shutdown.
/// </summary>
public enum RunState
{
    Prelaunch,
    Running,
    Paused,
    InMigrate,
    FinishMigrate,
    PostMigrate,
    Shutdown,
    InternalError,
    Debug,
}

public static class RunStateNames
{
    private static readonly string[] Names =
        ["prelaunch", "running", "paused", "inmigrate", "finish-migrate", "postmigrate", "shutdown", "internal-error", "debug"];

    public static string ToQmp(this RunState s) => Names[(int)s];

    public static bool TryParse(string name, out RunState state)
    {
        int i = Array.IndexOf(Names, name);
        state = i < 0 ? RunState.Prelaunch : (RunState)i;
        return i >= 0;
    }
}
