namespace Derecho.Tests.Support;

/// <summary>A fresh directory under the system temp folder, deleted (best effort) when disposed.</summary>
internal sealed class TemporaryDirectory : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("derecho-test-");

    public string Path => _directory.FullName;

    public void Dispose()
    {
        try { _directory.Delete(recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
