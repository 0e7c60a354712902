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

        Logging.Configure(options.LogLevel, options.LogFile, options.Incoming != null ? "destination" : "source");
        try
        {
            using var host = new EmuHost(options);
            return host.Run();
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (Emu.Display.DisplayException e)
        {
            Console.Error.WriteLine($"emu: {e.Message}");
            return 1;
        }
        catch (GuestImageException e)
        {
            Console.Error.WriteLine($"emu: {e.Message}");
            return 1;
        }
        catch (StartupException e)
        {
            Log.Debug(e, "startup refused");
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not a user's mistake: one line for the user, the stack in the log (--log-file).
            Log.Debug(e, "emu failed at start");
            Console.Error.WriteLine($"emu: internal error: {e.Message.ReplaceLineEndings(" ")}");
            return 1;
        }
        finally
        {
            Log.CloseAndFlush();
        }
    }
}
