namespace Emu.Monitor.Commands;

/// <summary>QEMU's error_setg_file_open wording for a file a command could not create or write.</summary>
internal static class QmpFileError
{
    /// <summary>"Could not open 'PATH': REASON", REASON as strerror would say it.</summary>
    public static QmpException CouldNotOpen(string path, Exception e) => QmpException.Generic($"Could not open '{path}': {Reason(e)}");

    private static string Reason(Exception e) => e switch
    {
        DirectoryNotFoundException or FileNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
