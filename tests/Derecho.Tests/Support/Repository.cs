namespace Derecho.Tests.Support;

internal static class Repository
{
    /// <summary>The checkout this test assembly was built from (the folder holding Derecho.sln).</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Derecho.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root (Derecho.sln) not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The build configuration of this test assembly (bin/&lt;Configuration&gt;/net10.0).</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
}
