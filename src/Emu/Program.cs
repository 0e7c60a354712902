using Emu.Configuration;
using Emu.Machine.Board;
using Serilog;

namespace Emu;

internal static class Program
{
    private static int Main(string[] args)
    {
        EmuOptions options;
        try
        {
            options = EmuConfiguration.Load(args);
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (options.Daemonize && Daemon.StatusFile == null)
        {
            return Daemon.Spawn(args);
        }

        Logging.Configure(options.LogLevel, options.LogFile, options.Incoming != null ? "destination" : "source");
        try
        {
            using var host = new EmuHost(options);
            return host.Run();
        }
        catch (ConfigurationException e)
        {
            return Fail(e.Message, 2);
        }
        catch (Emu.Display.DisplayException e)
        {
            return Fail($"emu: {e.Message}", 1);
        }
        catch (GuestImageException e)
        {
            return Fail($"emu: {e.Message}", 1);
        }
        catch (StartupException e)
        {
            Log.Debug(e, "startup refused");
            return Fail(e.Message, 1);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not a user's mistake: one line for the user, the stack in the log (--log-file).
            Log.Debug(e, "emu failed at start");
            return Fail($"emu: internal error: {e.Message.ReplaceLineEndings(" ")}", 1);
        }
        finally
        {
            Log.CloseAndFlush();
        }
    }

    /// <summary>The one line a failed start prints (and, under -daemonize, hands to the waiting parent).</summary>
    private static int Fail(string line, int exitCode)
    {
        Console.Error.WriteLine(line);
        Daemon.Report(line);
        return exitCode;
    }
}
