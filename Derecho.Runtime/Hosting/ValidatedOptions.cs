using System.Globalization;
using System.Net;
using Derecho.Errors;
using Derecho.Membership;
using Derecho.Multicast;
using Derecho.Security;
using Derecho.Wire;

namespace Derecho.Hosting;

/// <summary>Options that passed validation, with endpoints resolved and the group fingerprint computed.</summary>
internal sealed record ValidatedOptions(DerechoOptions Options, IReadOnlyDictionary<int, IPEndPoint> Endpoints, int[] MemberIds, ulong Fingerprint,
    TlsCredentials? Tls)
{
    /// <summary>Checks every setting; throws <see cref="DerechoConfigurationException"/> naming the first problem.</summary>
    public static ValidatedOptions From(DerechoOptions options)
    {
        if (options.Members.Count == 0) throw Problem("Members", "no members are configured");
        var endpoints = new Dictionary<int, IPEndPoint>();
        var firstIndex = new Dictionary<int, int>();
        for (var i = 0; i < options.Members.Count; i++)
        {
            var member = options.Members[i];
            if (member.Id < 0) throw Problem($"Members[{i}].Id", $"member id {member.Id} is negative");
            if (!PeerIds.IsMember(member.Id)) throw Problem($"Members[{i}].Id", $"member id {member.Id} is not below {PeerIds.FirstClientId} (higher ids are external clients')");
            if (firstIndex.TryGetValue(member.Id, out var first))
                throw Problem($"Members[{i}].Id", $"duplicate member id {member.Id} (also Members[{first}])");
            firstIndex[member.Id] = i;
            endpoints[member.Id] = ParseEndpoint(member.Endpoint, $"Members[{i}].Endpoint");
        }
        var duplicateEndpoint = endpoints.GroupBy(e => e.Value).FirstOrDefault(g => g.Count() > 1);
        if (duplicateEndpoint is not null)
            throw Problem("Members", $"members {string.Join(" and ", duplicateEndpoint.Select(e => e.Key))} share the endpoint {duplicateEndpoint.Key}");
        if (!endpoints.TryGetValue(options.MyId, out var mine))
            throw Problem("MyId", $"member id {options.MyId} is not in Members ({string.Join(", ", endpoints.Keys.Order())})");
        if (options.ConnectTimeout <= TimeSpan.Zero) throw Problem("ConnectTimeout", "must be positive");
        if (options.LeaveTimeout <= TimeSpan.Zero) throw Problem("LeaveTimeout", "must be positive");
        if (options.JoinTimeout <= TimeSpan.Zero) throw Problem("JoinTimeout", "must be positive");
        if (options.MaxTriggerQueueBytes < 1) throw Problem("MaxTriggerQueueBytes", "must be positive");
        if (options.TriggerTimeout <= TimeSpan.Zero) throw Problem("TriggerTimeout", "must be positive");
        if (options.HeartbeatInterval <= TimeSpan.Zero) throw Problem("HeartbeatInterval", "must be positive");
        if (options.FailureTimeout <= options.HeartbeatInterval * 2)
            throw Problem("FailureTimeout", $"must be more than twice HeartbeatInterval ({options.HeartbeatInterval.TotalMilliseconds} ms)");
        if (endpoints.Count > Sst.SstLayout.MaxMembers) throw Problem("Members", $"{endpoints.Count} members; a view holds at most {Sst.SstLayout.MaxMembers}");
        var sizes = new MulticastOptions { RingBytes = options.RingBytes, MaxPayloadBytes = options.MaxPayloadBytes }.Validate();
        if (sizes is not null) throw Problem("RingBytes/MaxPayloadBytes", sizes);

        var ids = endpoints.Keys.Order().ToArray();
        if (options.Join && endpoints.Count < 2) throw Problem("Members", "a joining member needs at least one other member to contact");
        if (string.IsNullOrWhiteSpace(options.GroupName)) throw Problem("GroupName", "must not be empty");
        if (options.RetainVersions < 0) throw Problem("RetainVersions", $"{options.RetainVersions} is negative (0 keeps every version)");
        if (options.NotificationRetention < 1) throw Problem("NotificationRetention", $"{options.NotificationRetention}: a member must keep at least one notification per shard");
        if (options.NotificationRetentionBytes < 1) throw Problem("NotificationRetentionBytes", $"{options.NotificationRetentionBytes} is not a positive number of bytes");
        if (options.MaxNotificationLag < 1) throw Problem("MaxNotificationLag", $"{options.MaxNotificationLag}: a subscriber must be allowed at least one notification behind");
        if (options.Transport is not ("tcp" or "rdma")) throw Problem("Transport", $"'{options.Transport}' is not a transport (tcp or rdma)");
        var tls = options.Tls is { } t ? TlsCredentials.Load(t, "Derecho:Tls", MustName(options.MyId), trustedBySelf: true) : null;
        if (tls is null && !options.AllowInsecure && ListenPolicy.Insecure(mine) is { } exposed)
            throw Problem("Tls", $"{exposed} without TLS: anyone who can reach it could join and read every replica. Configure Derecho:Tls, or set Derecho:AllowInsecure=true to accept that");
        if (options.AuthorizedClients.Count > 0 && tls is null)
            throw Problem("AuthorizedClients", "client names come from their certificates: configure Derecho:Tls");
        return new ValidatedOptions(options, endpoints, ids, ComputeFingerprint(options), tls);
    }

    private static Func<PeerIdentity, string?> MustName(int myId) => identity =>
        identity == PeerIdentity.Member(myId) ? null : $"the certificate identifies {identity}, but this is member {myId} (Derecho:MyId)";

    private static IPEndPoint ParseEndpoint(string text, string key) => PackedEndpoint.Parse(text, problem => Problem(key, problem));

    /// <summary>What members must agree on to talk at all (external clients compute the same from their options).</summary>
    private static ulong ComputeFingerprint(DerechoOptions options) => GroupFingerprint.Of(options.GroupName, options.RingBytes, options.MaxPayloadBytes);

    private static DerechoConfigurationException Problem(string key, string problem) => new($"Derecho:{key}: {problem}");
}
