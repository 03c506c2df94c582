using System.Diagnostics;
using System.Security.Cryptography;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ApiPlatform.Grains.Storage;

namespace ApiPlatform.Grains.Webhooks;

/// <inheritdoc cref="IWebhookGrain"/>
/// <remarks>
/// <para>State: the <c>webhooks</c> row (configuration, written only here and by the owner's deletion, versioned) and
/// the endpoint's pending <c>webhook_deliveries</c> rows, whose due times are persisted. The grain holds up to
/// <see cref="MaxQueued"/> of them in memory in send order (due time, then event position) and wakes itself with a
/// timer for the next one; a timer is kept alive only for waits up to <see cref="KeepAliveHorizon"/>, longer waits
/// let the activation go and the recovery sweep wakes it when they fall due.</para>
/// <para>Sending: at most <see cref="WebhookOptions.MaxConcurrentPerEndpoint"/> POSTs at once, each a task off the
/// grain's scheduler that POSTs and hands its result to the activation's <see cref="AttemptRecorder"/>, which writes
/// the results that finished together in one statement — each fenced by the attempt number it started from, so a
/// stale attempt changes nothing — and reports them back in one message. A POST that succeeded gives its slot back as
/// soon as it is answered, while its result is still being written (at most <see cref="RecordingWindow"/> times the
/// limit wait so): a fast endpoint is then paced by its answers, not by the database's writes. A failed POST keeps
/// its slot until its result is recorded, so the circuit breaker counts failures exactly as they happen. A dead endpoint therefore holds nothing but its own
/// attempts. After <see cref="BreakerOptions.FailureThreshold"/> consecutive failures the circuit opens: nothing is
/// sent until the cool-down ends, then one delivery probes (half-open).</para>
/// <para>Stopping: disabling (by the owner, by a 410, or after a whole retry schedule of failures) fails every
/// pending delivery in the same transaction as the change and empties the schedule; deleting removes them; the
/// owner's deletion leaves only the deliveries of its last events, for one attempt each. A disabled endpoint still
/// sends tests and redeliveries, once each, never retried.</para>
/// </remarks>
public sealed partial class WebhookGrain(
    WebhookStore store, WebhookSender sender, AttemptWriter attemptWriter, UrlChecker urls, ApiClock clock, IOptions<WebhookOptions> options,
    ILogger<WebhookGrain> logger)
    : Grain, IWebhookGrain
{
    /// <summary>Pending deliveries held in memory; the rest wait in the database until these are sent.</summary>
    public const int MaxQueued = 1000;

    /// <summary>Attempts started but not yet recorded, as a multiple of the POSTs allowed at once.</summary>
    public const int RecordingWindow = 4;

    /// <summary>Waits up to this long keep the activation (and its timer) alive.</summary>
    public static readonly TimeSpan KeepAliveHorizon = TimeSpan.FromMinutes(2);

    private readonly SortedSet<Entry> _queue = new(EntryOrder.Instance);
    private readonly Dictionary<string, Entry> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InFlight> _inFlight = new(StringComparer.Ordinal);

    // POSTs holding a slot: taken on the grain's scheduler, given back by the attempt's task (a success) or by the
    // grain when the result is reported (a failure), each exactly once (InFlight.Release).
    private int _posting;

    // 1 while deliveries wait for a sending slot: the next attempt that gives its slot back off the scheduler wakes the
    // pump (SlotFreedAsync). Without it they would wait for that attempt's result to be written and reported.
    private int _slotWanted;
    private IWebhookGrain? _self;

    // Runs while attempts are in flight: a report that never comes back (a lost message) would otherwise hold its
    // attempt's place for as long as the activation lives.
    private IGrainTimer? _reportWatch;
    private WebhookRow? _row;
    private bool _overflow;
    private long _tokens;
    private string _circuit = CircuitStates.Closed;
    private int _failures;
    private int _timesOpened;
    private long _openUntil;
    private TimeSpan _openFor;
    private DateTimeOffset _manualWindowStart = DateTimeOffset.MinValue;
    private int _manualCount;
    private IGrainTimer? _timer;
    private long _timerAt = long.MaxValue;
    private AttemptRecorder? _recorder;

    /// <summary>A queued delivery and when it may go (milliseconds of <see cref="Environment.TickCount64"/>).</summary>
    private sealed record Entry(QueuedDelivery Delivery, long ReadyAt);

    /// <summary>An attempt on its way: its token fences the report, <see cref="RetryIn"/> is the delay if it fails.</summary>
    private sealed class InFlight(QueuedDelivery delivery, long token, TimeSpan? retryIn, bool probe)
    {
        private int _released;
        private long _answeredAt;

        /// <summary>When it started (milliseconds of <see cref="Environment.TickCount64"/>).</summary>
        public long StartedAt { get; } = Environment.TickCount64;

        /// <summary>When its POST ended, answered or not; 0 while it is on its way.</summary>
        public long AnsweredAt => Volatile.Read(ref _answeredAt);

        public void Answered() => Volatile.Write(ref _answeredAt, Environment.TickCount64);

        public QueuedDelivery Delivery { get; } = delivery;

        public long Token { get; } = token;

        public TimeSpan? RetryIn { get; } = retryIn;

        public bool Probe { get; } = probe;

        /// <summary>Gives the attempt's sending slot back; only the first call does.</summary>
        public void Release(ref int posting)
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref posting);
            }
        }
    }

    private string Id => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _row = await store.LoadAsync(Id);
        if (_row is null)
        {
            return;
        }

        await ReloadPendingAsync();
        await PumpAsync();
    }

    public async Task<WebhookOutcome> CreateAsync(WebhookDraft draft, long maxWebhooks)
    {
        if (_row is not null)
        {
            throw new InvalidOperationException($"Webhook {Id} exists already.");
        }

        if (await urls.CheckAsync(draft.Url) is { } error)
        {
            return new WebhookOutcome(WebhookStatus.InvalidUrl, Error: error);
        }

        var now = Now();
        var secret = draft.Secret ?? NewSecret();
        var row = new WebhookRow(Id, draft.OwnerId, draft.Url, draft.Events, draft.Description, secret, null, null,
            draft.Enabled, null, now, now, 1);
        if (!await store.InsertAsync(row, maxWebhooks))
        {
            DeactivateOnIdle();
            return new WebhookOutcome(WebhookStatus.PlanLimitReached);
        }

        _row = row;
        return new WebhookOutcome(WebhookStatus.Done, row.View(), secret);
    }

    public Task<WebhookView?> GetAsync(string ownerId) => Task.FromResult(Visible(ownerId)?.View());

    public async Task<WebhookOutcome> UpdateAsync(string ownerId, WebhookPatch patch)
    {
        if (Visible(ownerId) is not { } current)
        {
            return new WebhookOutcome(WebhookStatus.NotFound);
        }

        // The check resolves the host on the thread pool with a short cache; only this endpoint waits for it.
        if (patch.Url is { } url && url != current.Url && await urls.CheckAsync(url) is { } error)
        {
            return new WebhookOutcome(WebhookStatus.InvalidUrl, Error: error);
        }

        return await WriteAsync(ownerId, row =>
        {
            var enabled = patch.Enabled ?? row.Enabled;
            return row with
            {
                Url = patch.Url ?? row.Url,
                Events = patch.Events ?? row.Events,
                Description = patch.ClearDescription ? null : patch.Description ?? row.Description,
                Enabled = enabled,
                // Enabling clears why it was disabled; an owner's own disabling has no reason to show.
                DisabledReason = enabled ? null : row.DisabledReason,
            };
        });
    }

    public async Task<bool> DeleteAsync(string ownerId)
    {
        if (Visible(ownerId) is null || !await store.DeleteAsync(ownerId, Id))
        {
            return false;
        }

        _row = null;
        ClearQueue();
        DeactivateOnIdle();
        return true;
    }

    public async Task<WebhookOutcome> RotateSecretAsync(string ownerId)
    {
        var secret = NewSecret();
        var outcome = await WriteAsync(ownerId, row => row with
        {
            Secret = secret,
            PreviousSecret = row.Secret,
            PreviousSecretExpiresAt = Now() + options.Value.SecretRotationOverlap,
        });
        return outcome.Status == WebhookStatus.Done ? outcome with { Secret = secret } : outcome;
    }

    public async Task<WebhookOutcome> SendTestAsync(string ownerId)
    {
        if (Visible(ownerId) is null)
        {
            return new WebhookOutcome(WebhookStatus.NotFound);
        }

        if (SpendManual() is { } retryAfter)
        {
            return new WebhookOutcome(WebhookStatus.RateLimited, RetryAfter: retryAfter);
        }

        var now = Now();
        var test = EventBodies.ForTest(ownerId, Id, now);
        var delivery = await store.InsertDeliveryAsync(Id, ownerId, test.Id, test.Type, test.Payload, null, null, now);
        if (_circuit == CircuitStates.Open)
        {
            // Asking for a test is asking whether the endpoint works again: let it be the probe.
            _circuit = CircuitStates.HalfOpen;
        }

        Add(delivery);
        await PumpAsync();
        return new WebhookOutcome(WebhookStatus.Done, Delivery: Pending(delivery));
    }

    public async Task<DeliveryList?> ListDeliveriesAsync(string ownerId, int offset, int limit)
    {
        if (Visible(ownerId) is null)
        {
            return null;
        }

        var (items, total) = await store.ListDeliveriesAsync(Id, offset, limit);
        return new DeliveryList(items, total);
    }

    public async Task<WebhookOutcome> RedeliverAsync(string ownerId, string deliveryId)
    {
        if (Visible(ownerId) is null || await store.LoadDeliveryEventAsync(Id, deliveryId) is not { } e)
        {
            return new WebhookOutcome(WebhookStatus.NotFound);
        }

        if (SpendManual() is { } retryAfter)
        {
            return new WebhookOutcome(WebhookStatus.RateLimited, RetryAfter: retryAfter);
        }

        var delivery = await store.InsertDeliveryAsync(Id, ownerId, e.EventId, e.Type, e.Payload, e.Seq, deliveryId, Now());
        Add(delivery);
        await PumpAsync();
        return new WebhookOutcome(WebhookStatus.Done, Delivery: Pending(delivery));
    }

    public async Task EnqueueAsync(IReadOnlyList<QueuedDelivery> deliveries)
    {
        if (_row is null)
        {
            return;
        }

        foreach (var d in deliveries)
        {
            Add(d);
        }

        await PumpAsync();
    }

    public async Task WakeAsync()
    {
        _row ??= await store.LoadAsync(Id);
        if (_row is null)
        {
            return;
        }

        await ReloadPendingAsync();
        await PumpAsync();
    }

    public Task SlotFreedAsync() => PumpAsync();

    public async Task OwnerDeletedAsync()
    {
        _row = await store.LoadAsync(Id);
        ClearQueue();
        if (_row is null)
        {
            return;
        }

        // What is still pending are the owner's last events, stored for one attempt each.
        await ReloadPendingAsync();
        await PumpAsync();
    }

    public async Task AttemptsDoneAsync(IReadOnlyList<AttemptOutcome> results)
    {
        var reload = false;
        foreach (var result in results)
        {
            if (!_inFlight.TryGetValue(result.DeliveryId, out var attempt) || attempt.Token != result.Token)
            {
                continue; // an attempt of an earlier activation, or of a schedule since dropped
            }

            _inFlight.Remove(result.DeliveryId);
            attempt.Release(ref _posting);
            if (!result.Recorded)
            {
                // The result did not land: the delivery was stopped meanwhile (disabled, deleted) or the database failed.
                // The database says which, so take the schedule from it again.
                reload = true;
                continue;
            }

            var succeeded = result.StatusCode is >= 200 and < 300;
            RecordForCircuit(succeeded, attempt.Probe);
            if (!succeeded && _row is { Enabled: true })
            {
                if (result.StatusCode == 410)
                {
                    await DisableAsync("endpoint returned 410 Gone");
                }
                else if (attempt.RetryIn is null)
                {
                    await DisableAsync("failing for the whole retry schedule");
                }
                else
                {
                    Add(attempt.Delivery with { Attempts = attempt.Delivery.Attempts + 1, DueAt = Now() + attempt.RetryIn.Value });
                }
            }
        }

        if (reload)
        {
            await ReloadPendingAsync();
        }

        await PumpAsync();
    }

    public Task<DeliveryState> GetDeliveryStateAsync()
    {
        var circuit = _circuit == CircuitStates.Open && Environment.TickCount64 >= _openUntil ? CircuitStates.HalfOpen : _circuit;
        return Task.FromResult(new DeliveryState(circuit, _failures, _queue.Count, _inFlight.Count, _row?.Enabled ?? false, _timesOpened));
    }

    // ------------------------------------------------------------------ the schedule

    private void Add(QueuedDelivery delivery)
    {
        if (_queued.ContainsKey(delivery.Id) || _inFlight.ContainsKey(delivery.Id))
        {
            return;
        }

        if (_queue.Count >= MaxQueued)
        {
            _overflow = true; // stored; loaded once the queue drains
            return;
        }

        var wait = delivery.DueAt - clock.UtcNow;
        var entry = new Entry(delivery, Environment.TickCount64 + (long)Math.Max(0, wait.TotalMilliseconds));
        _queue.Add(entry);
        _queued[delivery.Id] = entry;
    }

    private void ClearQueue()
    {
        _queue.Clear();
        _queued.Clear();
        _overflow = false;
    }

    /// <summary>Adds the stored pending deliveries this activation does not hold yet.</summary>
    private async Task ReloadPendingAsync()
    {
        var pending = await store.LoadPendingAsync(Id, MaxQueued);
        _overflow = pending.Count >= MaxQueued;
        foreach (var d in pending)
        {
            Add(d);
        }
    }

    /// <summary>Starts every attempt that is due and allowed, then sets the timer for the next one.</summary>
    private async Task PumpAsync()
    {
        if (_row is null)
        {
            return;
        }

        if (_queue.Count == 0 && _overflow && _inFlight.Count == 0)
        {
            await ReloadPendingAsync();
        }

        Volatile.Write(ref _slotWanted, 0); // asked again below if still needed
        var now = Environment.TickCount64;
        var limit = options.Value.MaxConcurrentPerEndpoint;
        while (_queue.Count > 0 && CanStart(limit))
        {
            var head = _queue.Min!;
            if (head.ReadyAt > now)
            {
                break;
            }

            if (!_row.Enabled && head.Delivery.Attempts > 0)
            {
                Remove(head); // a disabled endpoint retries nothing (its stored retries were failed with the change)
                continue;
            }

            if (_circuit == CircuitStates.Open)
            {
                if (now < _openUntil)
                {
                    break;
                }

                _circuit = CircuitStates.HalfOpen;
            }

            if (_circuit == CircuitStates.HalfOpen && _inFlight.Values.Any(f => f.Probe))
            {
                break; // one probe at a time
            }

            Remove(head);
            Start(head.Delivery, probe: _circuit == CircuitStates.HalfOpen);
        }

        ArmTimer(now, limit);
    }

    /// <summary>Whether a queued delivery may start now; asked only while some are queued.</summary>
    private bool CanStart(int limit)
    {
        if (_inFlight.Count >= limit * RecordingWindow)
        {
            return false; // these come back in the grain's own AttemptsDoneAsync, which pumps
        }

        if (Volatile.Read(ref _posting) < limit)
        {
            return true;
        }

        // At the POST limit: ask the next attempt to give its slot back to wake the pump, then look again, since the
        // slot may have come back before the ask was visible to it.
        Interlocked.Exchange(ref _slotWanted, 1);
        return Volatile.Read(ref _posting) < limit;
    }

    private void Remove(Entry entry)
    {
        _queue.Remove(entry);
        _queued.Remove(entry.Delivery.Id);
    }

    private void Start(QueuedDelivery delivery, bool probe)
    {
        var row = _row!;
        var attempts = delivery.Attempts + 1;
        var schedule = options.Value.Schedule;
        // A disabled endpoint's deliveries (tests, redeliveries, an owner's last events) get one attempt.
        TimeSpan? retryIn = row.Enabled && attempts <= schedule.Count
            ? schedule[attempts - 1] * (0.9 + (Random.Shared.NextDouble() * 0.2))
            : null;
        var attempt = new InFlight(delivery, ++_tokens, retryIn, probe);
        _inFlight[delivery.Id] = attempt;
        Interlocked.Increment(ref _posting);
        var target = row.Target();
        var self = _self ??= this.AsReference<IWebhookGrain>();
        var recorder = _recorder ??= new AttemptRecorder(attemptWriter, self, logger);
        _ = Task.Run(() => AttemptAsync(recorder, self, target, attempt));
        _reportWatch ??= this.RegisterGrainTimer(static (grain, _) => grain.ExpireLostReportsAsync(), this,
            new GrainTimerCreationOptions(options.Value.AttemptReportTimeout / 2, options.Value.AttemptReportTimeout / 2) { KeepAlive = true });
    }

    /// <summary>
    /// Attempts whose report is overdue (<see cref="WebhookOptions.AttemptReportTimeout"/> after their POST ended) are
    /// taken as lost: their places are freed and the schedule is read from the database again, which holds each one's
    /// result if it was written and keeps the delivery pending if not (it is then sent again: at least once).
    /// </summary>
    private async Task ExpireLostReportsAsync()
    {
        var now = Environment.TickCount64;
        var grace = (long)options.Value.AttemptReportTimeout.TotalMilliseconds;
        var post = (long)options.Value.DeliveryTimeout.TotalMilliseconds;
        var lost = _inFlight.Values
            .Where(f => now - (f.AnsweredAt == 0 ? f.StartedAt + post : f.AnsweredAt) > grace)
            .ToList();
        foreach (var attempt in lost)
        {
            _inFlight.Remove(attempt.Delivery.Id);
            attempt.Release(ref _posting);
        }

        if (lost.Count > 0)
        {
            LogReportsLost(logger, Id, lost.Count);
            await ReloadPendingAsync();
            await PumpAsync();
        }

        if (_inFlight.Count == 0)
        {
            _reportWatch?.Dispose();
            _reportWatch = null;
        }
    }

    /// <summary>One attempt, off the grain's scheduler: POST, then hand the result to the recorder (fenced write, report back).</summary>
    private async Task AttemptAsync(AttemptRecorder recorder, IWebhookGrain self, WebhookTarget target, InFlight attempt)
    {
        var delivery = attempt.Delivery;
        // A trace of its own: whatever call woke the endpoint is not what this attempt is part of, and the POST's HTTP
        // span belongs under it (the record is written with other attempts' results, in the recorder's own span).
        Activity.Current = null;
        using var activity = ApiTelemetry.ActivitySource.StartActivity(ApiTelemetry.Spans.WebhookDelivery, ActivityKind.Internal);
        activity?.SetTag("webhook.id", Id);
        activity?.SetTag("webhook.delivery.id", delivery.Id);
        activity?.SetTag("webhook.attempt", delivery.Attempts + 1);
        var started = Stopwatch.GetTimestamp();
        var (statusCode, error) = await sender.SendAsync(target, delivery.EventId, delivery.Payload);
        attempt.Answered();
        var elapsed = Stopwatch.GetElapsedTime(started);
        var now = Now();
        var succeeded = statusCode is >= 200 and < 300;
        if (succeeded)
        {
            attempt.Release(ref _posting);
            if (Interlocked.Exchange(ref _slotWanted, 0) == 1)
            {
                self.SlotFreedAsync().Ignore();
            }
        }

        var (status, next) = succeeded
            ? (DeliveryStatus.Succeeded, (DateTimeOffset?)null)
            : statusCode == 410 || attempt.RetryIn is null
                ? (DeliveryStatus.Failed, null)
                : (DeliveryStatus.Pending, now + attempt.RetryIn.Value);
        if (!succeeded)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error);
        }

        ApiTelemetry.WebhookAttempted(status switch
        {
            DeliveryStatus.Succeeded => ApiTelemetry.DeliveryOutcome.Succeeded,
            DeliveryStatus.Pending => ApiTelemetry.DeliveryOutcome.Retrying,
            _ => ApiTelemetry.DeliveryOutcome.Failed,
        }, elapsed);
        recorder.Add(new AttemptRecord(delivery.Id, delivery.Attempts, status, statusCode, error, next), attempt.Token);
    }

    private void ArmTimer(long now, int limit)
    {
        var wake = long.MaxValue;
        if (_queue.Count > 0 && CanStart(limit))
        {
            wake = _queue.Min!.ReadyAt;
            if (_circuit == CircuitStates.Open)
            {
                wake = Math.Max(wake, _openUntil);
            }
        }

        if (wake == _timerAt)
        {
            return;
        }

        _timer?.Dispose();
        _timer = null;
        _timerAt = wake;
        if (wake == long.MaxValue)
        {
            return;
        }

        var due = TimeSpan.FromMilliseconds(Math.Max(0, wake - now));
        _timer = this.RegisterGrainTimer(static (grain, _) => grain.OnTimerAsync(), this,
            new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = due <= KeepAliveHorizon || _inFlight.Count > 0 });
    }

    private async Task OnTimerAsync()
    {
        _timer?.Dispose();
        _timer = null;
        _timerAt = long.MaxValue;
        await PumpAsync();
    }

    // ------------------------------------------------------------------ circuit breaker

    private void RecordForCircuit(bool succeeded, bool probe)
    {
        if (succeeded)
        {
            _failures = 0;
            _circuit = CircuitStates.Closed;
            _openFor = TimeSpan.Zero;
            return;
        }

        _failures++;
        if (_circuit == CircuitStates.Open && !probe)
        {
            return; // an attempt that started before the circuit opened: it is open already
        }

        var breaker = options.Value.Breaker;
        if (probe || _circuit == CircuitStates.HalfOpen || _failures >= breaker.FailureThreshold)
        {
            _openFor = _openFor == TimeSpan.Zero ? breaker.OpenDuration : TimeSpan.FromTicks(Math.Min(_openFor.Ticks * 2, breaker.MaxOpenDuration.Ticks));
            _openUntil = Environment.TickCount64 + (long)_openFor.TotalMilliseconds;
            _timesOpened++;
            if (_circuit != CircuitStates.Open)
            {
                LogCircuitOpened(logger, Id, _failures, _openFor);
            }

            _circuit = CircuitStates.Open;
        }
    }

    // ------------------------------------------------------------------ helpers

    private async Task DisableAsync(string reason)
    {
        _row = await store.DisableAsync(Id, reason, Now());
        ClearQueue();
        LogDisabled(logger, Id, reason);
    }

    /// <summary>Applies <paramref name="change"/> to the row, versioned; a row moved underneath (the owner's deletion) is reloaded.</summary>
    private async Task<WebhookOutcome> WriteAsync(string ownerId, Func<WebhookRow, WebhookRow> change)
    {
        for (var attempt = 0; ; attempt++)
        {
            if (Visible(ownerId) is not { } current)
            {
                return new WebhookOutcome(WebhookStatus.NotFound);
            }

            var changed = change(current);
            if (Same(changed, current))
            {
                return new WebhookOutcome(WebhookStatus.Done, current.View());
            }

            var now = Now();
            var next = changed with { UpdatedAt = now, Version = current.Version + 1 };
            var disabling = current.Enabled && !next.Enabled;
            if (await store.UpdateAsync(next, current.Version, disabling ? WebhookStore.NotAttemptedDisabled : null, now))
            {
                _row = next;
                if (disabling)
                {
                    ClearQueue();
                }
                else if (!current.Enabled && next.Enabled)
                {
                    _failures = 0;
                    _circuit = CircuitStates.Closed;
                    _openFor = TimeSpan.Zero;
                }

                await PumpAsync();
                return new WebhookOutcome(WebhookStatus.Done, next.View());
            }

            _row = await store.LoadAsync(Id);
            if (attempt == 3)
            {
                throw new InvalidOperationException($"Webhook {Id} kept changing while being updated.");
            }
        }
    }

    /// <summary>Spends one manual delivery; the wait until the window ends when none is left.</summary>
    private TimeSpan? SpendManual()
    {
        var settings = options.Value.ManualDeliveries;
        var now = clock.UtcNow;
        if (now - _manualWindowStart >= settings.Window || now < _manualWindowStart)
        {
            _manualWindowStart = now;
            _manualCount = 0;
        }

        if (_manualCount >= settings.Limit)
        {
            return _manualWindowStart + settings.Window - now;
        }

        _manualCount++;
        return null;
    }

    private WebhookRow? Visible(string ownerId) => _row?.OwnerId == ownerId ? _row : null;

    private DeliveryView Pending(QueuedDelivery d) =>
        new(d.Id, Id, d.EventId, d.EventType, DeliveryStatus.Pending, 0, null, null, d.DueAt, d.CreatedAt, d.CreatedAt);

    private static bool Same(WebhookRow a, WebhookRow b) => a with { Events = b.Events } == b && a.Events.SequenceEqual(b.Events);

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private DateTimeOffset Now() => DbTime.Truncate(clock.UtcNow);

    /// <summary>Send order: due first, then the event's place in the owner's log, then age.</summary>
    private sealed class EntryOrder : IComparer<Entry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(Entry? x, Entry? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var c = x.ReadyAt.CompareTo(y.ReadyAt);
            if (c == 0)
            {
                c = (x.Delivery.EventSeq ?? long.MaxValue).CompareTo(y.Delivery.EventSeq ?? long.MaxValue);
            }

            if (c == 0)
            {
                c = x.Delivery.CreatedAt.CompareTo(y.Delivery.CreatedAt);
            }

            return c != 0 ? c : string.CompareOrdinal(x.Delivery.Id, y.Delivery.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId}: circuit opened after {Failures} consecutive failures, for {OpenFor}")]
    private static partial void LogCircuitOpened(ILogger logger, string webhookId, int failures, TimeSpan openFor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {WebhookId} disabled: {Reason}")]
    private static partial void LogDisabled(ILogger logger, string webhookId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {WebhookId}: {Count} attempt result(s) never reported back; reading the schedule from the database again")]
    private static partial void LogReportsLost(ILogger logger, string webhookId, int count);
}
