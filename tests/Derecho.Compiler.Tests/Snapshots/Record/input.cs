using System.Collections.Generic;
using Derecho.Rpc;

namespace Ledger;

/// <summary>A replicated record type in a file-scoped namespace.</summary>
[Replicated]
public partial record Journal
{
    private readonly List<string> _lines = new();

    [Ordered]
    public int Append(string line, Kind kind = Kind.Credit)
    {
        _lines.Add(kind + ":" + line);
        return _lines.Count;
    }

    [P2PCallable]
    public string[] Lines(int from = 0, double scale = 1.5) => _lines.GetRange(from, _lines.Count - from).ToArray();
}

public enum Kind { Credit, Debit }
