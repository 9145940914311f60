namespace Derecho.Membership;

/// <summary>One member of the configured group, as members and clients are told of it.</summary>
public sealed class MemberOptions
{
    /// <summary>Unique, non-negative member id.</summary>
    public int Id { get; set; }

    /// <summary>Where the member listens, as "host:port": an IPv4 address, or a host name resolved to its first IPv4 address (IPv6 is not supported).</summary>
    public string Endpoint { get; set; } = "";
}
