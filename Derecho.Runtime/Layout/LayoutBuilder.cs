using Derecho.Rpc;

namespace Derecho.Layout;

/// <summary>
/// Declares the replicated types a group hosts. In this version every type is one subgroup of one
/// shard spanning every member; sharded layouts come with the layout policies.
/// </summary>
public sealed class LayoutBuilder
{
    internal List<SubgroupRegistration> Registrations { get; } = new();

    /// <summary>Hosts a replicated <typeparamref name="T"/>, created at each member by <paramref name="factory"/>.</summary>
    public LayoutBuilder Subgroup<T>(Func<IReplicaContext, T> factory) where T : class, IReplicatedType
    {
        if (Registrations.Any(r => r.TypeId == T.ReplicatedTypeId))
            throw new InvalidOperationException($"{typeof(T).FullName} is already in the layout");
        Registrations.Add(new SubgroupRegistration(T.ReplicatedTypeId, typeof(T).FullName ?? typeof(T).Name, context => factory(context)));
        return this;
    }
}

/// <summary>A replicated type and how to create its replica.</summary>
internal sealed record SubgroupRegistration(uint TypeId, string Name, Func<IReplicaContext, IReplicatedObject> Factory);
