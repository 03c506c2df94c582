using ApiPlatform.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.Streams.Core;

namespace ApiPlatform.Grains.Events;

/// <inheritdoc cref="IOwnerEventsGrain"/>
/// <remarks>
/// Ordering: the owner's events arrive on several streams (one per family) from whichever silo committed them, so
/// they can arrive out of log order. The grain holds a later event until the ones before it arrive; after
/// <see cref="EventOptions.GapWait"/> it reads the missing ones from the log (they are committed: a committed number
/// implies every smaller one). It starts, at activation, right after the owner's acknowledged position, so a new
/// activation (after a crash, or after the previous one was collected) processes again whatever the last one did
/// not acknowledge: consumers are idempotent by event id.
/// </remarks>
[ImplicitStreamSubscription(EventStreams.Resources)]
[ImplicitStreamSubscription(EventStreams.Organizations)]
[ImplicitStreamSubscription(EventStreams.Memberships)]
public sealed partial class OwnerEventsGrain(
    EventStore store, EventAcknowledger acknowledger, IEnumerable<IEventConsumer> consumers, ApiClock clock, IOptions<EventOptions> options,
    ILogger<OwnerEventsGrain> logger)
    : Grain, IOwnerEventsGrain, IStreamSubscriptionObserver, IAsyncObserver<EventBatch>
{
    /// <summary>How long a listener stays registered without refreshing.</summary>
    public static readonly TimeSpan ListenerLease = TimeSpan.FromSeconds(90);

    private const int ReadBatch = 500;

    private readonly SortedDictionary<long, EventEnvelope> _held = [];
    private readonly Dictionary<IEventListener, long> _listeners = [];
    private readonly IEventConsumer[] _consumers = consumers.ToArray();
    private long _next;
    private long _pushedThrough;
    private int _failures;
    private IGrainTimer? _timer;
    private Task _loop = Task.CompletedTask;
    private bool _again;
    private bool _fill;
    private bool _catchUp;

    private string OwnerId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _next = await store.AcknowledgedAsync(OwnerId) + 1;
        _pushedThrough = _next - 1;
    }

    public async Task OnSubscribed(IStreamSubscriptionHandleFactory handleFactory) =>
        await handleFactory.Create<EventBatch>().ResumeAsync(this);

    public Task OnNextAsync(EventBatch item, StreamSequenceToken? token = null)
    {
        foreach (var e in item.Events)
        {
            if (e.Seq >= _next)
            {
                _held.TryAdd(e.Seq, e);
            }
        }

        // The sweep found this owner behind: catch up from the log to its end.
        _catchUp |= item.Replay;
        Kick();
        return Task.CompletedTask;
    }

    /// <summary>
    /// All processing runs in one loop beside the stream's deliveries rather than inside them: while one run is being
    /// made durable, the next messages only add to what is held, and the following run takes them all (one fan-out,
    /// not one per message). The loop is the only place that moves the position, so runs never overlap.
    /// </summary>
    private void Kick()
    {
        if (_loop.IsCompleted)
        {
            _loop = LoopAsync();
        }
        else
        {
            _again = true;
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            do
            {
                _again = false;
                if (_catchUp)
                {
                    _catchUp = false;
                    _fill = false;
                    await CatchUpAsync();
                    if (_next > 1)
                    {
                        // Written again in case an earlier acknowledgement was lost (that is why the sweep came).
                        acknowledger.Acknowledge(OwnerId, _next - 1);
                    }
                }
                else if (_fill)
                {
                    _fill = false;
                    await FillAsync();
                }
                else
                {
                    await DrainAsync();
                }
            }
            while (_again);
        }
        catch (Exception e)
        {
            _failures++;
            LogConsumeFailed(logger, e, OwnerId, _next, _next);
            Arm(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(_failures, 5))));
        }
    }

    public Task OnCompletedAsync() => Task.CompletedTask;

    public Task OnErrorAsync(Exception ex) => Task.CompletedTask;

    public Task<long> SubscribeAsync(IEventListener listener)
    {
        _listeners[listener] = Environment.TickCount64 + (long)ListenerLease.TotalMilliseconds;
        return Task.FromResult(_pushedThrough);
    }

    public Task UnsubscribeAsync(IEventListener listener)
    {
        _listeners.Remove(listener);
        return Task.CompletedTask;
    }

    public Task<OwnerEventsState> GetStateAsync() => Task.FromResult(new OwnerEventsState(_next, _held.Count));

    /// <summary>
    /// Drops held events the position has passed: a stream message can bring an event again while the run holding it
    /// is being processed (it was read from the log when it seemed missing, then arrived late), and a held event below
    /// the position would otherwise stand at the head of the queue for ever, stopping the owner.
    /// </summary>
    private void DropPassed()
    {
        while (_held.Count > 0 && _held.First().Key < _next)
        {
            _held.Remove(_held.First().Key);
        }
    }

    /// <summary>Processes the contiguous run at the head of what is held; arms the gap timer if something is missing.</summary>
    private async Task DrainAsync()
    {
        DropPassed();
        while (_held.Count > 0 && _held.First().Key == _next)
        {
            var run = new List<EventEnvelope>();
            while (_held.Remove(_next + run.Count, out var e))
            {
                run.Add(e);
            }

            if (!await ProcessAsync(run))
            {
                // Put back and retry later: the run's effects were not made durable.
                foreach (var e in run)
                {
                    _held.TryAdd(e.Seq, e);
                }

                Arm(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(_failures, 5))));
                return;
            }

            DropPassed();
        }

        if (_held.Count > 0 && _timer is null)
        {
            // Armed once per gap, not again on every message: while an owner's events keep coming, re-arming would
            // push the timer back each time and a missing event would never be read from the log.
            Arm(options.Value.GapWait);
        }
    }

    /// <summary>Reads what is missing before the held events from the log, then drains.</summary>
    private async Task FillAsync()
    {
        DropPassed();
        while (_held.Count > 0 && _held.First().Key > _next)
        {
            var missing = await store.ReadAfterAsync(OwnerId, _next - 1, (int)Math.Min(ReadBatch, _held.First().Key - _next));
            if (missing.Count == 0 || missing[0].Seq > _next)
            {
                // Purged past retention (or never numbered): nothing to wait for, continue at what exists.
                var resumeAt = missing.Count > 0 ? missing[0].Seq : _held.First().Key;
                LogSkipped(logger, OwnerId, _next, resumeAt - 1);
                _next = resumeAt;
            }

            foreach (var e in missing)
            {
                _held.TryAdd(e.Seq, e);
            }

            var before = _next;
            await DrainAsync();
            if (_next == before)
            {
                return; // processing failed; the retry timer is armed
            }
        }

        await DrainAsync();
    }

    /// <summary>Processes everything in the log from the current position to its end.</summary>
    private async Task CatchUpAsync()
    {
        while (true)
        {
            var events = await store.ReadAfterAsync(OwnerId, _next - 1, ReadBatch);
            if (events.Count == 0)
            {
                break;
            }

            if (events[0].Seq > _next)
            {
                LogSkipped(logger, OwnerId, _next, events[0].Seq - 1);
                _next = events[0].Seq;
            }

            foreach (var e in events)
            {
                _held.TryAdd(e.Seq, e);
            }

            var before = _next;
            await DrainAsync();
            if (_next == before || events.Count < ReadBatch)
            {
                break;
            }
        }

        await DrainAsync();
    }

    /// <summary>Pushes the run to live listeners, runs the consumers, acknowledges; false when a consumer failed.</summary>
    private async Task<bool> ProcessAsync(List<EventEnvelope> run)
    {
        var last = run[^1].Seq;
        if (last > _pushedThrough)
        {
            var fresh = run.Where(e => e.Seq > _pushedThrough).ToList();
            var now = clock.UtcNow;
            foreach (var e in fresh)
            {
                ApiTelemetry.EventLag(ApiTelemetry.EventStage.Consumed, e.CreatedAt, now);
            }

            Push(fresh);
            _pushedThrough = last;
        }

        var acknowledged = false;
        try
        {
            foreach (var consumer in _consumers)
            {
                acknowledged |= await consumer.ConsumeAsync(OwnerId, run);
            }
        }
        catch (Exception e)
        {
            _failures++;
            LogConsumeFailed(logger, e, OwnerId, run[0].Seq, last);
            return false;
        }

        _failures = 0;
        _next = last + 1;
        if (!acknowledged)
        {
            acknowledger.Acknowledge(OwnerId, last);
        }

        return true;
    }

    private void Push(List<EventEnvelope> events)
    {
        if (_listeners.Count == 0 || events.Count == 0)
        {
            return;
        }

        var now = Environment.TickCount64;
        var batch = new EventBatch(OwnerId, events);
        foreach (var (listener, until) in _listeners.ToList())
        {
            if (until < now)
            {
                _listeners.Remove(listener);
                continue;
            }

            // One-way: a listener that is gone costs nothing but a failed send.
            _ = listener.OnEventsAsync(batch);
        }
    }

    private void Arm(TimeSpan due)
    {
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(static (grain, _) => grain.OnTimerAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private Task OnTimerAsync()
    {
        _timer?.Dispose();
        _timer = null;
        _fill = true;
        Kick();
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Processing events {From}..{To} of {OwnerId} failed; will retry")]
    private static partial void LogConsumeFailed(ILogger logger, Exception exception, string ownerId, long from, long to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Events {From}..{To} of {OwnerId} are no longer in the log (retention); skipped")]
    private static partial void LogSkipped(ILogger logger, string ownerId, long from, long to);
}
