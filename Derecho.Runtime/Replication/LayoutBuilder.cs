using Derecho.Layout;
using Derecho.Persistence;
using Derecho.Rpc;

namespace Derecho.Replication;

/// <summary>
/// Declares the replicated types a group hosts and how each is laid out: by default one shard holding
/// every member; with a <see cref="ShardPolicy"/>, shards of bounded size.
/// </summary>
public sealed class LayoutBuilder
{
    internal List<SubgroupRegistration> Registrations { get; } = new();

    /// <summary>Hosts a replicated <typeparamref name="T"/> on every member (one shard), created by <paramref name="factory"/>.</summary>
    public LayoutBuilder Subgroup<T>(Func<IReplicaContext, T> factory) where T : class, IReplicatedType =>
        Subgroup(factory, new ShardPolicy());

    /// <summary>Hosts a replicated <typeparamref name="T"/> as <paramref name="shards"/> shards of exactly <paramref name="replicas"/> members.</summary>
    public LayoutBuilder Subgroup<T>(Func<IReplicaContext, T> factory, int shards, int replicas) where T : class, IReplicatedType =>
        Subgroup(factory, ShardPolicy.Fixed(shards, replicas));

    /// <summary>Hosts a replicated <typeparamref name="T"/> laid out by <paramref name="policy"/>.</summary>
    public LayoutBuilder Subgroup<T>(Func<IReplicaContext, T> factory, ShardPolicy policy) where T : class, IReplicatedType
    {
        var name = typeof(T).FullName ?? typeof(T).Name;
        if (Registrations.Any(r => r.TypeId == T.ReplicatedTypeId))
            throw new InvalidOperationException($"{name} is already in the layout");
        if (policy.Validate() is { } problem) throw new ArgumentException($"layout of {name}: {problem}", nameof(policy));
        Registrations.Add(new SubgroupRegistration(new SubgroupSpec(T.ReplicatedTypeId, name, policy), context => factory(context), T.CanTransferState));
        return this;
    }

    internal IReadOnlyList<SubgroupSpec> Specs => Registrations.Select(r => r.Spec).ToList();
}

/// <summary>A replicated type, its layout policy, how to create a replica of one of its shards, and whether its state can be sent.</summary>
internal sealed record SubgroupRegistration(SubgroupSpec Spec, Func<IReplicaContext, IReplicatedObject> Factory, bool CanTransferState)
{
    public uint TypeId => Spec.TypeId;

    public string Name => Spec.Name;
}
