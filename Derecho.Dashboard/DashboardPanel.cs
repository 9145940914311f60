namespace Derecho.Dashboard;

/// <summary>
/// A panel of the dashboard a host adds (<see cref="DashboardOptions.Panels"/>): a title and rows of name/value
/// pairs, read at every refresh. Values are shown as text (never as HTML).
/// </summary>
public abstract class DashboardPanel
{
    /// <summary>The panel's heading.</summary>
    public abstract string Title { get; }

    /// <summary>The panel's rows now, in order.</summary>
    public abstract Task<IReadOnlyList<KeyValuePair<string, string>>> ReadAsync(CancellationToken cancellationToken);

    /// <summary>A panel from a delegate.</summary>
    public static DashboardPanel Create(string title, Func<CancellationToken, Task<IReadOnlyList<KeyValuePair<string, string>>>> read) => new DelegatePanel(title, read);

    private sealed class DelegatePanel(string title, Func<CancellationToken, Task<IReadOnlyList<KeyValuePair<string, string>>>> read) : DashboardPanel
    {
        public override string Title => title;

        public override Task<IReadOnlyList<KeyValuePair<string, string>>> ReadAsync(CancellationToken cancellationToken) => read(cancellationToken);
    }
}

/// <summary>What the dashboard shows and how often.</summary>
public sealed class DashboardOptions
{
    /// <summary>Seconds between updates pushed to the page.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Views remembered for the history (newest last).</summary>
    public int ViewHistory { get; set; } = 20;

    /// <summary>Events remembered (view changes, members lost or back, errors).</summary>
    public int RecentEvents { get; set; } = 50;

    /// <summary>Extra panels, shown after the built-in ones.</summary>
    public List<DashboardPanel> Panels { get; } = new();
}
