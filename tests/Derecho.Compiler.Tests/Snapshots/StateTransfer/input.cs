using System;
using System.Buffers;
using System.Buffers.Binary;
using Derecho.Persistence;
using Derecho.Rpc;
using MemoryPack;

namespace Bank;

/// <summary>State transfer through MemoryPack: the type is [MemoryPackable].</summary>
[Replicated]
[MemoryPackable]
public partial class Account
{
    [MemoryPackInclude]
    private long _balance;

    [Ordered]
    public long Deposit(long amount) => _balance += amount;
}

/// <summary>State transfer written by hand.</summary>
[Replicated]
public partial class Meter : IReplicaState
{
    private long _count;

    [Ordered]
    public void Tick() => _count++;

    public void WriteState(IBufferWriter<byte> writer)
    {
        BinaryPrimitives.WriteInt64LittleEndian(writer.GetSpan(8), _count);
        writer.Advance(8);
    }

    public void ReadState(ReadOnlySpan<byte> state) => _count = BinaryPrimitives.ReadInt64LittleEndian(state);
}

/// <summary>All state in versioned fields: the runtime transfers them, nothing to generate.</summary>
[Replicated]
public partial class Balance
{
    private readonly Persistent<long> _amount;

    public Balance(IReplicaContext context) => _amount = context.Persistent<long>("amount");

    [Ordered]
    public long Add(long delta) => _amount.Update(a => a + delta);
}
