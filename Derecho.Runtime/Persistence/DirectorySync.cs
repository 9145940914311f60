using System.Runtime.InteropServices;

namespace Derecho.Persistence;

/// <summary>
/// Makes changes to a directory's entries durable. fsync on a file covers its data and inode, not the
/// name the directory holds it under: after a file is created, renamed or deleted the directory itself
/// must be fsynced, or after a power loss the file can vanish (or a deleted one come back). .NET has no
/// API for it (<see cref="File.OpenHandle"/> refuses directories on Unix), hence open/fsync/close from libc.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0; // O_RDONLY: enough to fsync a directory
    private const int LinuxCloseOnExec = 0x80000; // O_CLOEXEC: a process started meanwhile must not inherit it
    private const int MacCloseOnExec = 0x1000000;
    private const int InvalidArgument = 22; // EINVAL: the file system cannot sync directories (it has nothing to sync)
    private const int Interrupted = 4; // EINTR

    /// <summary>Raised with the full path after each directory sync (lets tests see that every path syncs).</summary>
    internal static event Action<string>? Synced;

    /// <summary>fsyncs <paramref name="directory"/>, so the entries just created or removed in it survive a power loss.</summary>
    public static void Sync(string directory)
    {
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        // Windows: no documented way to flush a directory's entries (FlushFileBuffers is for files and
        // volumes), and NTFS journals metadata changes itself.
        if (!OperatingSystem.IsWindows()) SyncUnix(path);
        Synced?.Invoke(path);
    }

    /// <summary>Creates <paramref name="directory"/> and any missing parents, and syncs the parent of each one made.</summary>
    public static void CreateDirectory(string directory)
    {
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        var missing = new List<string>();
        for (var level = path; level is not null && !Directory.Exists(level); level = Path.GetDirectoryName(level)) missing.Add(level);
        Directory.CreateDirectory(path);
        foreach (var made in missing) Sync(Path.GetDirectoryName(made)!);
    }

    private static void SyncUnix(string path)
    {
        var flags = ReadOnly | (OperatingSystem.IsMacOS() ? MacCloseOnExec : LinuxCloseOnExec);
        int fd;
        do fd = Open(path, flags);
        while (fd < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        if (fd < 0) throw Failure("open", path);
        try
        {
            int result;
            do result = Fsync(fd);
            while (result < 0 && Marshal.GetLastPInvokeError() == Interrupted);
            if (result < 0 && Marshal.GetLastPInvokeError() != InvalidArgument) throw Failure("fsync", path);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    private static IOException Failure(string call, string path)
    {
        var errno = Marshal.GetLastPInvokeError();
        return new IOException($"{call} of directory {path} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
