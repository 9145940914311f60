namespace Derecho.Security;

/// <summary>
/// Which external clients may call which replicated types (<c>Derecho:AuthorizedClients</c>): client name to type
/// names (full, or without the namespace), "*" for every type, <see cref="StatusRight"/> for the status query. With no
/// rules every client with a trusted certificate (or, without TLS, any) may call and read the status.
/// </summary>
internal sealed class ClientAccess(IReadOnlyDictionary<string, List<string>> rules)
{
    private readonly Dictionary<string, HashSet<string>> _rules = rules.ToDictionary(r => r.Key, r => r.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>The entry that lets a client read the status (members, endpoints, layout, versions) without calling any type; "*" does too.</summary>
    public const string StatusRight = "@status";

    /// <summary>Why <paramref name="client"/> may not call <paramref name="typeName"/>, or null if it may.</summary>
    public string? Refusal(PeerIdentity? client, string typeName)
    {
        if (_rules.Count == 0) return null;
        if (client is not { Role: PeerRole.Client } named) return "this client has no certificate identity, and Derecho:AuthorizedClients admits clients by name";
        if (!_rules.TryGetValue(named.ClientName, out var types)) return $"{named} is not in Derecho:AuthorizedClients";
        var simpleName = typeName[(typeName.LastIndexOf('.') + 1)..];
        return types.Contains("*") || types.Contains(typeName) || types.Contains(simpleName) ? null : $"{named} may not call {typeName} (Derecho:AuthorizedClients:{named.ClientName})";
    }

    /// <summary>Why <paramref name="client"/> may not read the status (it tells a stranger the group's whole shape), or null if it may.</summary>
    public string? StatusRefusal(PeerIdentity? client)
    {
        if (_rules.Count == 0) return null;
        if (client is not { Role: PeerRole.Client } named) return "this client has no certificate identity, and Derecho:AuthorizedClients admits clients by name";
        if (!_rules.TryGetValue(named.ClientName, out var types)) return $"{named} is not in Derecho:AuthorizedClients";
        return types.Contains("*") || types.Contains(StatusRight)
            ? null
            : $"{named} may not read the status (Derecho:AuthorizedClients:{named.ClientName} needs \"{StatusRight}\" or \"*\")";
    }
}
