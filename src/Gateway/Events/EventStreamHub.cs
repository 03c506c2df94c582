using System.Collections.Concurrent;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Gateway.Hosting;
using ApiPlatform.Grains.Events;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Events;

/// <summary>
/// This process's live event subscriptions (SSE connections), on a silo or on the gateway-only role alike. For each
/// owner with a connection here it registers one listener with the owner's <see cref="IOwnerEventsGrain"/>, which
/// pushes the owner's events in log order; a feed per owner passes them on to its connections in that order,
/// filling any gap from the log (a lost push, an owner grain that moved after a crash). Each connection keeps its
/// own position and catches up from the log when it is behind (resume, or a slow client), so a connection sees every
/// event after its start exactly once, in log order.
/// </summary>
public sealed partial class EventStreamHub : IEventListener, IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly GrainRefs _refs;
    private readonly IOptions<EventStreamOptions> _options;
    private readonly ILogger<EventStreamHub> _logger;
    private readonly ConcurrentDictionary<string, OwnerFeed> _feeds = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly Timer _renewal;
    private IEventListener? _reference;

    public EventStreamHub(IGrainFactory grains, GrainRefs refs, IOptions<EventStreamOptions> options, ILogger<EventStreamHub> logger)
    {
        _grains = grains;
        _refs = refs;
        _options = options;
        _logger = logger;
        _renewal = new Timer(_ => _ = RenewAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>This hub as the owner grains address it (created on first use: a client may connect after start).</summary>
    private IEventListener Reference
    {
        get
        {
            lock (_gate)
            {
                return _reference ??= _grains.CreateObjectReference<IEventListener>(this);
            }
        }
    }

    internal IEventQueryWorker Log => _refs.Get<IEventQueryWorker>(0);

    /// <summary>Open subscriptions in this process (diagnostics and benchmarks).</summary>
    public int Connections => _feeds.Values.Sum(f => f.Count);

    /// <summary>
    /// Opens a subscription for <paramref name="ownerId"/>: takes a stream slot of <paramref name="credential"/>
    /// (402 when <paramref name="maxStreams"/> are open), finds the resume position of <paramref name="lastEventId"/>
    /// (400 when it is not in the owner's log), and joins the owner's feed.
    /// </summary>
    public async Task<EventSubscription> OpenAsync(string ownerId, string credential, int maxStreams, IReadOnlySet<string>? types,
        string? lastEventId, CancellationToken cancellationToken)
    {
        long? resumeAfter = null;
        long startAfter = 0;
        if (lastEventId is not null)
        {
            var known = await Log.GetAsync(ownerId, lastEventId)
                ?? throw ApiException.Invalid("Last-Event-ID",
                    "is not an event of this owner's log (events are kept for a limited time); reconnect without it and resynchronize");
            resumeAfter = known.Seq;
        }
        else
        {
            // "From now on" is the owner's log as committed now, not what the owner's consumer has passed on so far:
            // an event committed just before the connection but not yet consumed would otherwise be sent as new.
            startAfter = await Log.HeadAsync(ownerId);
        }

        var connectionId = Guid.NewGuid().ToString("N");
        var slots = _refs.Get<IEventStreamSlotsGrain>(credential);
        if (!await slots.TryAcquireAsync(connectionId, maxStreams))
        {
            throw ApiException.PlanLimit($"This credential's plan allows {maxStreams} open event streams at once. Close one or upgrade.");
        }

        var subscription = new EventSubscription(this, ownerId, credential, connectionId, types, _options.Value);
        try
        {
            var feed = await JoinAsync(ownerId, subscription, cancellationToken);
            subscription.Start(feed, resumeAfter, startAfter);
            return subscription;
        }
        catch
        {
            await subscription.DisposeAsync(); // leaves the feed and gives the slot back
            throw;
        }
    }

    public Task OnEventsAsync(EventBatch batch)
    {
        if (_feeds.TryGetValue(batch.OwnerId, out var feed))
        {
            feed.Accept(batch.Events);
        }

        return Task.CompletedTask;
    }

    private async Task<OwnerFeed> JoinAsync(string ownerId, EventSubscription subscription, CancellationToken cancellationToken)
    {
        while (true)
        {
            var feed = _feeds.GetOrAdd(ownerId, id => new OwnerFeed(this, id));
            if (feed.TryAdd(subscription))
            {
                subscription.Attach(feed);
                if (feed.IsNew())
                {
                    EnsureRenewal();
                    _ = RegisterAsync(feed);
                }

                await feed.Ready.WaitAsync(cancellationToken);
                return feed;
            }

            // The feed closed just now (its last connection left); start a new one.
            _feeds.TryRemove(new KeyValuePair<string, OwnerFeed>(ownerId, feed));
        }
    }

    /// <summary>Registers with the owner's grain; its answer is the position after which every event will be pushed.</summary>
    private async Task RegisterAsync(OwnerFeed feed)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var position = await _grains.GetGrain<IOwnerEventsGrain>(feed.OwnerId).SubscribeAsync(Reference);
                feed.Registered(position);
                return;
            }
            catch (Exception e) when (attempt < 5 && !feed.Closed)
            {
                LogRegisterFailed(_logger, e, feed.OwnerId);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * (attempt + 1)));
            }
            catch (Exception e)
            {
                // Nobody can be served from this feed: its connections fail, the next ones start a new feed.
                _feeds.TryRemove(new KeyValuePair<string, OwnerFeed>(feed.OwnerId, feed));
                feed.Failed(e);
                return;
            }
        }
    }

    internal void Leave(OwnerFeed? feed, EventSubscription subscription)
    {
        if (feed is not null && feed.Remove(subscription))
        {
            _feeds.TryRemove(new KeyValuePair<string, OwnerFeed>(feed.OwnerId, feed));
            _ = UnregisterAsync(feed.OwnerId);
        }

        _ = ReleaseAsync(subscription);
    }

    private async Task UnregisterAsync(string ownerId)
    {
        try
        {
            await _grains.GetGrain<IOwnerEventsGrain>(ownerId).UnsubscribeAsync(Reference);
        }
        catch (Exception e)
        {
            LogRegisterFailed(_logger, e, ownerId); // the registration lapses by itself
        }
    }

    private async Task ReleaseAsync(EventSubscription subscription)
    {
        try
        {
            await _refs.Get<IEventStreamSlotsGrain>(subscription.Credential).ReleaseAsync(subscription.ConnectionId);
        }
        catch (Exception e)
        {
            LogRegisterFailed(_logger, e, subscription.Credential); // the slot lapses by itself
        }
    }

    private void EnsureRenewal()
    {
        var every = _options.Value.RenewInterval;
        _renewal.Change(every, every);
    }

    /// <summary>
    /// Renews the registrations (each answer is the owner grain's position: a grain that moved after a crash pushed
    /// nothing to us meanwhile, and the feed fills that gap from the log) and the connections' stream slots.
    /// </summary>
    private async Task RenewAsync()
    {
        if (_feeds.IsEmpty)
        {
            _renewal.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            return;
        }

        foreach (var feed in _feeds.Values)
        {
            try
            {
                feed.Refreshed(await _grains.GetGrain<IOwnerEventsGrain>(feed.OwnerId).SubscribeAsync(Reference));
            }
            catch (Exception e)
            {
                LogRegisterFailed(_logger, e, feed.OwnerId);
            }
        }

        foreach (var credential in _feeds.Values.SelectMany(f => f.Subscriptions()).GroupBy(s => s.Credential))
        {
            try
            {
                await _refs.Get<IEventStreamSlotsGrain>(credential.Key).RenewAsync(credential.Select(s => s.ConnectionId).ToList());
            }
            catch (Exception e)
            {
                LogRegisterFailed(_logger, e, credential.Key);
            }
        }
    }

    public void Dispose() => _renewal.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event stream registration for {Key} failed")]
    internal static partial void LogRegisterFailed(ILogger logger, Exception exception, string key);

    internal ILogger Logger => _logger;
}
