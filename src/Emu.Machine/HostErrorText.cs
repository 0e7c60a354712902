namespace Emu.Machine;

/// <summary>A host file error as the C library would say it, for the one line a user reads ("No such file or directory").</summary>
public static class HostErrorText
{
    public static string Of(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };
}
