using System.Collections.Concurrent;
using System.Net;
using Derecho.Transport;

namespace Derecho.Membership;

/// <summary>
/// Where every member listens: configured at start, learned from views, proposals and restarts. Learning a
/// member's endpoint also tells the transport where to connect to it.
/// </summary>
internal sealed class MemberEndpoints(int myId, IPEndPoint mine, TcpTransport transport, IEnumerable<KeyValuePair<int, IPEndPoint>> configured)
{
    private readonly ConcurrentDictionary<int, IPEndPoint> _endpoints = new(configured);

    /// <summary>This member's own endpoint, as configured.</summary>
    public IPEndPoint Mine { get; } = mine;

    /// <summary>Records where member <paramref name="id"/> listens and makes it a peer (this member's own id is ignored).</summary>
    public void Learn(int id, long packed)
    {
        if (id == myId) return;
        _endpoints[id] = PackedEndpoint.Unpack(packed);
        transport.AddPeer(id, _endpoints[id]);
    }

    /// <summary>The packed endpoint of member <paramref name="id"/> (as in the SST and in messages).</summary>
    public long Packed(int id) => PackedEndpoint.Pack(id == myId ? Mine : _endpoints[id]);

    /// <summary>The members of a view with their packed endpoints, in view order.</summary>
    public List<(int Id, long Endpoint)> Of(IEnumerable<int> members) => members.Select(id => (id, Packed(id))).ToList();
}
