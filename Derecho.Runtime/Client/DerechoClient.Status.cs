using System.Collections.Concurrent;
using System.Net;
using Derecho.Errors;
using Derecho.Rpc;
using Derecho.Transport;
using Derecho.Wire;
using Microsoft.Extensions.Logging;

namespace Derecho.Client;

/// <summary>The status query: any member says where it stands (state, view, members, shards and their versions).</summary>
public sealed partial class DerechoClient
{
    private readonly ConcurrentDictionary<long, (TaskCompletionSource<GroupStatus> Answer, int Member)> _statusQueries = new();

    /// <summary>The id of the latest view the client heard of (-1 before the first).</summary>
    public long ViewId => Interlocked.Read(ref _viewId);

    /// <summary>Where each member of the latest view the client heard of listens (as that view says).</summary>
    public IReadOnlyDictionary<int, IPEndPoint> Endpoints =>
        _members.Where(_endpoints.ContainsKey).ToDictionary(member => member, member => _endpoints[member]);

    /// <summary>
    /// Asks a member (the contact when <paramref name="member"/> is null) for its status. Fails with an
    /// <see cref="ArgumentException"/> for a member the client knows no endpoint of, a <see cref="TransportException"/>
    /// when it cannot be reached or the connection breaks first, an <see cref="UnauthorizedCallException"/> when
    /// <c>Derecho:AuthorizedClients</c> does not let this client read the status, a <see cref="RemoteCallException"/> when it
    /// refuses for another reason, and a <see cref="CallTimeoutException"/> after <see cref="DerechoClientOptions.RequestTimeout"/>.
    /// </summary>
    public Task<GroupStatus> GetStatusAsync(int? member = null, CancellationToken cancellationToken = default) =>
        QueryStatusAsync(member, StatusMessages.Request, cancellationToken);

    /// <summary>A status query whose request the caller encodes from its id (tests send malformed ones).</summary>
    internal async Task<GroupStatus> QueryStatusAsync(int? member, Func<long, byte[]> encode, CancellationToken cancellationToken)
    {
        var target = member ?? _contact;
        if (target < 0) throw new TransportException($"client {_id} has no contact member to ask");
        var id = Interlocked.Increment(ref _nextRequest);
        var answer = new TaskCompletionSource<GroupStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        _statusQueries[id] = (answer, target);
        try
        {
            Greet(target); // ArgumentException: no endpoint known
            _transport.Send(target, encode(id));
            _transport.Flush();
        }
        catch (InvalidOperationException e)
        {
            _statusQueries.TryRemove(id, out _);
            throw new TransportException($"client {_id} cannot reach member {target}: {e.Message}", e);
        }
        catch
        {
            _statusQueries.TryRemove(id, out _);
            throw;
        }
        try
        {
            return await answer.Task.WaitAsync(_options.RequestTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new CallTimeoutException($"status query to member {target} got no answer within {_options.RequestTimeout.TotalSeconds:0.#}s");
        }
        finally
        {
            _statusQueries.TryRemove(id, out _);
        }
    }

    /// <summary>A status reply: it counts only from the member asked, on its own connection; a malformed one is logged and dropped.</summary>
    private void OnStatusReply(int peerId, ReadOnlySpan<byte> message)
    {
        if (!StatusMessages.TryReadReplyHeader(message, out var kind, out var member, out var request)
            || !_statusQueries.TryGetValue(request, out var query) || query.Member != peerId || member != peerId)
        {
            if (_warnings.ShouldLog(peerId)) _logger.LogWarning("Client {Id}: status reply of {Length} bytes from member {Peer} ignored: malformed, or for no query asked of that member", _id, message.Length, peerId);
            return;
        }
        if (kind == StatusReplyKind.Unauthorized)
        {
            query.Answer.TrySetException(new UnauthorizedCallException(peerId, StatusMessages.ReadRefusal(message)));
            return;
        }
        if (kind == StatusReplyKind.Refused)
        {
            query.Answer.TrySetException(new RemoteCallException(peerId, StatusMessages.ReadRefusal(message)));
            return;
        }
        if (!StatusMessages.TryReadAnswer(message, peerId, out var answer) || answer is null)
        {
            query.Answer.TrySetException(new RemoteCallException(peerId, $"member {peerId} sent a malformed status reply of {message.Length} bytes"));
            return;
        }
        query.Answer.TrySetResult(ToPublic(answer));
    }

    /// <summary>Fails the status queries waiting on <paramref name="peerId"/> (every one for -1).</summary>
    private void FailStatusQueries(int peerId, Exception error)
    {
        foreach (var (id, query) in _statusQueries)
            if ((peerId < 0 || query.Member == peerId) && _statusQueries.TryRemove(id, out _)) query.Answer.TrySetException(error);
    }

    private static GroupStatus ToPublic(StatusAnswer answer) => new(
        answer.Member,
        Enum.IsDefined((GroupMemberState)answer.State) ? (GroupMemberState)answer.State : GroupMemberState.Starting,
        answer.ViewId,
        Array.AsReadOnly(answer.Members),
        Array.AsReadOnly(answer.Shards.Select(s => new ShardVersions(s.TypeId, s.Type, s.Shard, s.Replicas, s.MaxReplicas, s.Persistent, s.Delivered, s.Logged, s.Persisted,
            s.GloballyPersisted)).ToArray()),
        answer.Reason,
        new DateTime(answer.Ticks, DateTimeKind.Utc));
}
