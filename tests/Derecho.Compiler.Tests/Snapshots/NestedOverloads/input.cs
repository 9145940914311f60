using System.Collections.Generic;
using Derecho.Rpc;
using MemoryPack;

[MemoryPackable]
public partial record Item(string Name, int Quantity);

public partial class Outer
{
    [Replicated]
    internal partial class Store
    {
        private readonly Dictionary<string, Item> _items = new();

        [Ordered]
        public bool Put(Item item)
        {
            _items[item.Name] = item;
            return true;
        }

        [Ordered]
        public bool Put(string name, int quantity) => Put(new Item(name, quantity));

        [P2PCallable]
        public Item? Get(string name) => _items.TryGetValue(name, out var item) ? item : null;

        [P2PCallable]
        public List<string> Names(int? limit) => new(_items.Keys);
    }
}
