using System.Text;

namespace Derecho.Generators;

/// <summary>
/// FNV-1a over UTF-8: a hash that is the same on every machine and build (unlike string.GetHashCode),
/// so two members compiled from the same source agree on every id, and adding a method renumbers nothing.
/// </summary>
internal static class StableHash
{
    public static uint Fnv1a32(string text)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= 16777619u;
        }
        return hash;
    }
}
