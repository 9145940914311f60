using Derecho.Sst;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Membership;

/// <summary>
/// Bumps this member's heartbeat column and pushes just that cell every interval, on a thread of its own. The
/// protocol thread also runs application handlers, so a heartbeat bumped there stops while an ordered handler
/// takes longer than the failure timeout, and the others would remove a healthy member. As in C++ Derecho,
/// whose failure checks run on their own thread rather than the predicate thread, liveness here means "the
/// process runs and reaches its peers", not "its handlers are quick". It stops beating once the member stops.
/// </summary>
internal sealed class HeartbeatThread : IDisposable
{
    private readonly Func<SharedStateTable?> _table;
    private readonly ITransport _transport;
    private readonly Func<bool> _running;
    private readonly ILogger _logger;
    private readonly TimeSpan _interval;
    private readonly ManualResetEventSlim _stopping = new();
    private readonly Thread _thread;

    /// <summary>
    /// Beats <paramref name="table"/>() (the installed view's table, read at every beat) while
    /// <paramref name="running"/>() holds: a member that stopped must look dead.
    /// </summary>
    public HeartbeatThread(Func<SharedStateTable?> table, ITransport transport, TimeSpan interval, Func<bool> running, ILogger logger)
    {
        _table = table;
        _transport = transport;
        _interval = interval;
        _running = running;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "derecho-heartbeat" };
    }

    public void Start() => _thread.Start();

    public void Dispose()
    {
        _stopping.Set();
        if (_thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(5));
        _stopping.Dispose();
    }

    private void Run()
    {
        while (!_stopping.Wait(_interval))
        {
            if (!_running()) continue;
            try
            {
                _table()?.Beat(_transport);
                _transport.Flush();
            }
            catch (InvalidOperationException e)
            {
                // A peer the view names but the transport no longer knows: the protocol thread deals with it.
                _logger.LogDebug("Heartbeat not sent: {Reason}", e.Message);
            }
        }
    }
}
