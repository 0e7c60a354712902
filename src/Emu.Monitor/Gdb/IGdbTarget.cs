namespace Emu.Monitor.Gdb;

/// <summary>What the GDB stub needs of the machine: stop and run it, its registers, its memory, breakpoints.</summary>
public interface IGdbTarget
{
    /// <summary>True while the guest runs (not stopped by the debugger, a pause or a migration).</summary>
    bool IsRunning { get; }

    /// <summary>Stops the guest at an instruction boundary (run state debug) and returns when it has stopped.</summary>
    void Stop();

    /// <summary>Runs the guest: to the next breakpoint, or exactly one instruction with <paramref name="step"/>.</summary>
    void Resume(bool step);

    /// <summary>Raised (on the vCPU thread) when a breakpoint or step stopped the guest.</summary>
    event Action? Stopped;

    /// <summary>Registers 0-15 of GDB's i386 layout: EAX ECX EDX EBX ESP EBP ESI EDI EIP EFLAGS CS SS DS ES FS GS.</summary>
    uint ReadRegister(int index);

    bool WriteRegister(int index, uint value);

    /// <summary>Reads or writes guest memory at a linear address; false where it is not mapped.</summary>
    bool ReadMemory(uint linear, Span<byte> into);

    bool WriteMemory(uint linear, ReadOnlySpan<byte> data);

    void AddBreakpoint(uint linear);

    void RemoveBreakpoint(uint linear);
}
