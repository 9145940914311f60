using Derecho.Sst;

namespace Derecho.Membership;

/// <summary>
/// Suspects a member whose heartbeat counter in the SST has not moved for the failure timeout. A broken
/// connection is reported to <see cref="ViewChangeProtocol"/> directly and is suspected at once.
/// </summary>
internal sealed class FailureDetector
{
    private readonly SharedStateTable _sst;
    private readonly long _timeoutMs;
    private readonly long[] _lastBeat;
    private readonly long[] _lastChange;

    public FailureDetector(SharedStateTable sst, TimeSpan timeout)
    {
        _sst = sst;
        _timeoutMs = (long)timeout.TotalMilliseconds;
        _lastBeat = new long[sst.Rows];
        _lastChange = new long[sst.Rows];
        Array.Fill(_lastBeat, -1);
        Array.Fill(_lastChange, Environment.TickCount64);
    }

    /// <summary>Calls <paramref name="suspect"/> for every member silent for longer than the timeout.</summary>
    public void Check(Action<int, string> suspect)
    {
        var now = Environment.TickCount64;
        for (var r = 0; r < _sst.Rows; r++)
        {
            if (r == _sst.MyRank) continue;
            var beat = _sst.Get(r, _sst.Layout.Heartbeat);
            if (beat != _lastBeat[r])
            {
                _lastBeat[r] = beat;
                _lastChange[r] = now;
            }
            else if (now - _lastChange[r] > _timeoutMs && _sst.Get(_sst.MyRank, _sst.Layout.Suspected(r)) == 0)
            {
                suspect(r, $"no heartbeat for {now - _lastChange[r]} ms (timeout {_timeoutMs} ms)");
            }
        }
    }
}
