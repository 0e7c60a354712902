using System.Text.Json.Nodes;
using Emu.Machine.Board;
using Emu.Machine.Memory;

namespace Emu.Monitor.Commands;

/// <summary>
/// The machine's QMP commands (QEMU's qmp_query_status, qmp_stop, qmp_cont, qmp_quit, qmp_system_reset,
/// qmp_pmemsave, qmp_query_name, qmp_query_version, qmp_query_commands, qmp_screendump), with QEMU's
/// names, argument names, JSON shapes and error wording.
/// </summary>
public sealed class MachineCommands
{
    /// <summary>pmemsave copies through a buffer of this many bytes.</summary>
    internal const int PmemsaveChunkBytes = 1 << 20;

    private readonly QmpCommandTable _table;
    private readonly IMigratableMachine _machine;
    private readonly AddressSpace _memory;
    private readonly MachineControl _control;

    private MachineCommands(QmpCommandTable table, IMigratableMachine machine, AddressSpace memory, MachineControl control)
    {
        _table = table;
        _machine = machine;
        _memory = memory;
        _control = control;
    }

    public static void Register(QmpCommandTable table, IMigratableMachine machine, AddressSpace memory, MachineControl control)
    {
        var c = new MachineCommands(table, machine, memory, control);
        table.Add("query-status", c.QueryStatus);
        table.Add("stop", c.Stop);
        table.Add("cont", c.Cont);
        table.Add("quit", c.Quit);
        table.Add("system_reset", c.SystemReset);
        table.Add("pmemsave", c.Pmemsave);
        table.Add("query-name", c.QueryName);
        table.Add("query-version", c.QueryVersion);
        table.Add("query-commands", c.QueryCommands);
        table.Add("screendump", c.Screendump);
    }

    /// <summary>QEMU StatusInfo: running, singlestep (always false: Emu has no single-step mode), status.</summary>
    private JsonNode? QueryStatus(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        RunState state = _machine.RunState;
        return new JsonObject
        {
            ["running"] = state == RunState.Running,
            ["singlestep"] = false,
            ["status"] = state.ToQmp(),
        };
    }

    /// <summary>QEMU qmp_stop: pauses a running guest; during inmigrate it only cancels autostart.</summary>
    private JsonNode? Stop(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        RunState state = _machine.RunState;
        if (state == RunState.InMigrate)
        {
            _control.SetAutostart(false);
        }
        else if (state == RunState.Running)
        {
            // vm_stop does nothing when the guest is not running (paused, postmigrate, …).
            _machine.Stop(RunState.Paused);
        }

        return null;
    }

    /// <summary>QEMU qmp_cont: resumes the guest, refusing the states that need a reset or a finished migration.</summary>
    private JsonNode? Cont(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        switch (_machine.RunState)
        {
            case RunState.Shutdown or RunState.InternalError:
                throw QmpException.Generic("Resetting the Virtual Machine is required");
            case RunState.FinishMigrate:
                throw QmpException.Generic("Migration is not finalized yet");
            case RunState.InMigrate:
                _control.SetAutostart(true);
                break;
            case RunState.Running:
                break;
            default:
                _machine.Start();
                break;
        }

        return null;
    }

    private JsonNode? Quit(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        _control.Quit();
        return null;
    }

    private JsonNode? SystemReset(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        _control.SystemReset();
        return null;
    }

    /// <summary>
    /// QEMU qmp_pmemsave: writes <c>size</c> bytes of guest-physical memory from <c>val</c> to <c>filename</c>.
    /// Unmapped bytes read as 0xFF, as the CPU would see them. Unlike QEMU, a range that is negative or runs past
    /// the last mapped address is refused rather than looping over nothing.
    /// </summary>
    private JsonNode? Pmemsave(JsonObject arguments)
    {
        var args = new QmpArguments(arguments, "val", "size", "filename");
        ulong gpa = args.GetUInt64("val");
        long size = args.GetInt64("size");
        string fileName = args.GetString("filename");
        if (size < 0)
        {
            throw QmpException.Generic($"Parameter 'size' expects a non-negative integer, found {size}");
        }

        ulong end = GuestPhysicalEnd();
        if (gpa > end || (ulong)size > end - gpa)
        {
            throw QmpException.Generic($"pmemsave: range 0x{gpa:x}+0x{size:x} runs past the end of guest-physical memory at 0x{end:x}");
        }

        FileStream file;
        try
        {
            file = new FileStream(fileName, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw QmpFileError.CouldNotOpen(fileName, e);
        }

        using (file)
        {
            byte[] buffer = new byte[(int)Math.Min(size, PmemsaveChunkBytes)];
            ulong done = 0;
            while (done < (ulong)size)
            {
                int chunk = (int)Math.Min((ulong)size - done, (ulong)buffer.Length);
                _memory.Read(gpa + done, buffer.AsSpan(0, chunk));
                try
                {
                    file.Write(buffer, 0, chunk);
                }
                catch (IOException)
                {
                    throw QmpException.Generic("An IO error has occurred");
                }

                done += (ulong)chunk;
            }
        }

        return null;
    }

    /// <summary>QEMU NameInfo: <c>{"name": …}</c>, or <c>{}</c> when the guest has no name.</summary>
    private JsonNode? QueryName(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        return _control.Name == null ? new JsonObject() : new JsonObject { ["name"] = _control.Name };
    }

    private JsonNode? QueryVersion(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        return _control.Version.ToQmp();
    }

    /// <summary>QEMU CommandInfo list: <c>[{"name": …}, …]</c>, every registered command.</summary>
    private JsonNode? QueryCommands(JsonObject arguments)
    {
        _ = new QmpArguments(arguments);
        var list = new JsonArray();
        foreach (string name in _table.Names)
        {
            list.Add(new JsonObject { ["name"] = name });
        }

        return list;
    }

    /// <summary>QEMU qmp_screendump (7.1+ arguments): filename, device, head, format (default ppm).</summary>
    private JsonNode? Screendump(JsonObject arguments)
    {
        var args = new QmpArguments(arguments, "filename", "device", "head", "format");
        string fileName = args.GetString("filename");
        string? device = args.GetOptionalString("device");
        long? head = args.GetOptionalInt64("head");
        ScreendumpFormat format = args.GetOptionalEnum<ScreendumpFormat>("format", ScreendumpFormatNames.TryParse) ?? ScreendumpFormat.Ppm;
        if (head != null && device == null)
        {
            throw QmpException.Generic("'head' must be specified together with 'device'");
        }

        if (head is < 0 or > int.MaxValue)
        {
            throw QmpException.Generic($"Parameter 'head' expects a non-negative integer, found {head}");
        }

        Action<ScreendumpRequest> screendump = _control.Screendump
            ?? throw QmpException.Generic("There is no console to take a screendump from.");
        try
        {
            screendump(new ScreendumpRequest(fileName, format, device, (int?)head));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw QmpFileError.CouldNotOpen(fileName, e);
        }

        return null;
    }

    /// <summary>One past the highest mapped guest-physical address.</summary>
    private ulong GuestPhysicalEnd()
    {
        ulong end = 0;
        foreach (MemoryRegion r in _memory.Regions)
        {
            end = Math.Max(end, r.Gpa + r.Size);
        }

        return end;
    }
}
