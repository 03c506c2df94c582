using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Events;

/// <summary>Work the recovery sweep does for a feature (the webhooks wake due endpoints and purge their log).</summary>
public interface ISweepTask
{
    /// <summary>Runs at every sweep: <paramref name="horizon"/> is when the next one is due at the latest.</summary>
    Task SweepAsync(DateTimeOffset now, DateTimeOffset horizon);

    /// <summary>Runs every <see cref="EventOptions.PurgeInterval"/>.</summary>
    Task PurgeAsync(DateTimeOffset now);
}

/// <inheritdoc cref="IEventSweepGrain"/>
/// <remarks>
/// Idle cost: one reminder tick per <see cref="EventOptions.SweepInterval"/> for the whole cluster, each a couple of
/// indexed queries that find nothing. When it finds unacknowledged events that are not old enough yet, it sets a
/// one-off timer for when they will be, so recovery does not wait for the next tick.
/// </remarks>
public sealed partial class EventSweepGrain(
    EventStore store, StreamEventPublisher publisher, IEnumerable<ISweepTask> tasks, ApiClock clock, IOptions<EventOptions> options,
    ILogger<EventSweepGrain> logger) : Grain, IEventSweepGrain, IRemindable
{
    public const string ReminderName = "event-sweep";

    /// <summary>Owners republished per sweep at most (a backlog goes over several sweeps).</summary>
    private const int MaxOwnersPerSweep = 1000;

    private const int PurgeBatch = 5000;

    private readonly ISweepTask[] _tasks = tasks.ToArray();
    private DateTimeOffset _lastPurge = DateTimeOffset.MinValue;
    private IGrainTimer? _followUp;

    public async Task StartAsync()
    {
        var period = options.Value.SweepInterval;
        await this.RegisterOrUpdateReminder(ReminderName, period, period);
        await SweepAsync();
    }

    public Task ReceiveReminder(string reminderName, TickStatus status) => SweepAsync();

    public async Task SweepAsync()
    {
        var settings = options.Value;
        var now = clock.UtcNow;
        await RepublishAsync(now, settings.AcknowledgeTimeout);

        foreach (var task in _tasks)
        {
            try
            {
                await task.SweepAsync(now, now + settings.SweepInterval + settings.SweepInterval / 2);
            }
            catch (Exception e)
            {
                LogSweepFailed(logger, e, task.GetType().Name);
            }
        }

        if (now - _lastPurge >= settings.PurgeInterval)
        {
            _lastPurge = now;
            await PurgeAsync(now, settings.Retention);
        }
    }

    /// <summary>Republishes the first unacknowledged event of every owner that is behind for longer than the timeout.</summary>
    private async Task RepublishAsync(DateTimeOffset now, TimeSpan timeout)
    {
        IReadOnlyList<EventEnvelope> behind;
        try
        {
            behind = await store.UnacknowledgedAsync(MaxOwnersPerSweep);
        }
        catch (Exception e)
        {
            LogSweepFailed(logger, e, "republish");
            return;
        }

        var due = behind.Where(e => e.CreatedAt <= now - timeout).ToList();
        if (due.Count > 0)
        {
            LogRepublishing(logger, due.Count);
            // The consumer, seeing a replay, catches up from the log from its own position onwards.
            await publisher.PublishAsync(due, replay: true);
        }

        // Not old enough yet: look again when the youngest of them is (a silo may have died just after committing).
        if (behind.Where(e => e.CreatedAt > now - timeout).Select(e => (DateTimeOffset?)e.CreatedAt).Min() is { } first)
        {
            var wait = first + timeout - now + TimeSpan.FromMilliseconds(100);
            if (wait < options.Value.SweepInterval)
            {
                _followUp?.Dispose();
                _followUp = this.RegisterGrainTimer(static (grain, _) => grain.SweepAsync(), this,
                    new GrainTimerCreationOptions(wait, Timeout.InfiniteTimeSpan) { KeepAlive = true });
            }
        }
    }

    private async Task PurgeAsync(DateTimeOffset now, TimeSpan retention)
    {
        try
        {
            var purged = 0;
            int deleted;
            do
            {
                deleted = await store.PurgeAsync(now - retention, PurgeBatch);
                purged += deleted;
            }
            while (deleted == PurgeBatch);

            if (purged > 0)
            {
                LogPurged(logger, purged);
            }
        }
        catch (Exception e)
        {
            LogSweepFailed(logger, e, "purge");
        }

        foreach (var task in _tasks)
        {
            try
            {
                await task.PurgeAsync(now);
            }
            catch (Exception e)
            {
                LogSweepFailed(logger, e, task.GetType().Name + " purge");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event sweep step {Step} failed; the next sweep tries again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, string step);

    [LoggerMessage(Level = LogLevel.Information, Message = "Republishing the unacknowledged events of {Count} owner(s)")]
    private static partial void LogRepublishing(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged {Count} event(s) past retention")]
    private static partial void LogPurged(ILogger logger, int count);
}
