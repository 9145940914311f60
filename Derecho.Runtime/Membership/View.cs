namespace Derecho.Membership;

/// <summary>A membership view: its id and the members in rank order. Every member installs the same views.</summary>
public sealed record View(long Id, IReadOnlyList<int> Members)
{
    /// <summary>Rank of a member in this view, or -1.</summary>
    public int RankOf(int memberId)
    {
        for (var i = 0; i < Members.Count; i++)
            if (Members[i] == memberId) return i;
        return -1;
    }
}
