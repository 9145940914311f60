namespace Derecho.Membership;

/// <summary>One member of the configured group, as members and clients are told of it.</summary>
public sealed class MemberOptions
{
    /// <summary>Unique, non-negative member id.</summary>
    public int Id { get; set; }

    /// <summary>Where the member listens, as "host:port" (IPv6 as "[::1]:port").</summary>
    public string Endpoint { get; set; } = "";
}
