using Derecho.Internal;
using Derecho.Transport;
using Microsoft.Extensions.Logging;

namespace Derecho.Sst;

/// <summary>
/// The thread that runs the protocol: it evaluates every registered predicate over the SST, pushes the
/// row if any trigger changed it, flushes the transport, and sleeps on a doorbell when nothing moved.
/// It spins only as long as SemaphoreSlim does before blocking, so idle members cost no CPU.
/// </summary>
internal sealed class PredicateLoop : IDisposable
{
    /// <summary>A predicate and its trigger in one: returns true when it acted.</summary>
    public delegate bool Step();

    private (string Name, Step Step)[] _steps = [];
    private SharedStateTable? _sst;
    private readonly ITransport _transport;
    private readonly ILogger _logger;
    private readonly Doorbell _doorbell = new();
    private readonly Thread _thread;
    private readonly int _idleWaitMs;
    private volatile bool _stopping;

    /// <summary>Creates the loop; give it a <see cref="Table"/> and steps, then <see cref="Start"/>.</summary>
    public PredicateLoop(ITransport transport, ILogger logger, TimeSpan idleWait)
    {
        _transport = transport;
        _logger = logger;
        _idleWaitMs = Math.Max(1, (int)idleWait.TotalMilliseconds);
        _thread = new Thread(Run) { IsBackground = true, Name = "derecho-predicates" };
    }

    /// <summary>Raised (on the loop thread) when a step throws; the loop stops.</summary>
    public event Action<Exception>? Faulted;

    /// <summary>Whether the loop thread is the caller.</summary>
    public bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Adds a named step; steps run in the order added.</summary>
    public void Add(string name, Step step) => _steps = [.. _steps, (name, step)];

    /// <summary>The table whose row changes are pushed after each iteration.</summary>
    public SharedStateTable? Table
    {
        get => _sst;
        set => _sst = value;
    }

    /// <summary>
    /// Swaps in a new view's table and steps. Called on the loop thread (from a step): the current
    /// iteration ends there and the next one runs the new steps and pushes the new table.
    /// </summary>
    public void Replace(SharedStateTable sst, IEnumerable<(string Name, Step Step)> steps)
    {
        _sst = sst;
        _steps = steps.ToArray();
    }

    /// <summary>Starts the thread.</summary>
    public void Start() => _thread.Start();

    /// <summary>Something changed (a remote write landed, a message was queued): evaluate again soon.</summary>
    public void Wake() => _doorbell.Ring();

    /// <summary>Whether the loop thread is not running (never started, or ended).</summary>
    public bool HasStopped => !_thread.IsAlive;

    /// <summary>Stops the thread after its current iteration.</summary>
    public void Dispose()
    {
        _stopping = true;
        _doorbell.Ring();
        if (!IsLoopThread && _thread.IsAlive) _thread.Join(TimeSpan.FromSeconds(10));
        _doorbell.Dispose();
    }

    private void Run()
    {
        var current = "";
        try
        {
            while (!_stopping)
            {
                var progress = false;
                var steps = _steps;
                foreach (var (name, step) in steps)
                {
                    current = name;
                    progress |= step();
                    if (!ReferenceEquals(steps, _steps)) { progress = true; break; } // a new view was installed
                }
                _sst?.PushChanges(_transport);
                _transport.Flush();
                if (!progress) _doorbell.Wait(_idleWaitMs);
            }
        }
        catch (Exception e)
        {
            _logger.LogCritical(e, "Predicate step '{Step}' failed; this member stops", current);
            Faulted?.Invoke(e);
        }
    }
}
