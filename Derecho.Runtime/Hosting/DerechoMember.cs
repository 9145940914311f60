using Derecho.Layout;
using Derecho.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Derecho.Hosting;

/// <summary>
/// The member as a hosted service: joins the group when the host starts and leaves it gracefully (a view
/// change without a timeout) when the host stops, e.g. on SIGTERM or Ctrl-C. Resolve it from DI and await
/// <see cref="GetGroupAsync"/> to make calls.
/// </summary>
public sealed class DerechoMember : IHostedService, IAsyncDisposable
{
    private readonly IOptions<DerechoOptions> _options;
    private readonly Action<LayoutBuilder> _layout;
    private readonly ILoggerFactory _loggers;
    private readonly TaskCompletionSource<DerechoGroup> _group = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Created by <see cref="DerechoServiceCollectionExtensions.AddDerecho"/>.</summary>
    public DerechoMember(IOptions<DerechoOptions> options, DerechoLayout layout, ILoggerFactory loggers)
    {
        _options = options;
        _layout = layout.Configure;
        _loggers = loggers;
    }

    /// <summary>The running group, once the host has started it.</summary>
    public Task<DerechoGroup> GetGroupAsync() => _group.Task;

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _group.TrySetResult(await DerechoGroup.JoinAsync(_options.Value, _layout, _loggers, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception e)
        {
            _group.TrySetException(e);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // A member that already shut down with the group (or stopped) has nothing left to leave.
        if (_group.Task.IsCompletedSuccessfully && !_group.Task.Result.IsClosed && !_group.Task.Result.Failed.IsCompleted)
            await _group.Task.Result.LeaveAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_group.Task.IsCompletedSuccessfully) await _group.Task.Result.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The layout given to <see cref="DerechoServiceCollectionExtensions.AddDerecho"/>.</summary>
public sealed record DerechoLayout(Action<LayoutBuilder> Configure);
