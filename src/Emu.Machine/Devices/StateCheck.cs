using Emu.Machine.State;

namespace Emu.Machine.Devices;

/// <summary>
/// The "validate" half of validate-then-apply for a device's <c>Load(state)</c>: the description validates
/// streams, and <c>Load</c> calls this with the same check so a record handed in directly is held to it too.
/// </summary>
internal static class StateCheck
{
    public static void Require(string sectionName, string? problem)
    {
        if (problem != null)
        {
            throw new VmStateException($"state: '{sectionName}': {problem}");
        }
    }
}
