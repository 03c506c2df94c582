using System.Text.Json.Nodes;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Events;
using ApiPlatform.Grains.Resources;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Data.Sqlite;

namespace ApiPlatform.GrainTests;

/// <summary>
/// The endpoint grain on the whole event path inside the cluster: resources changed through their grains, events
/// published on the streams, the owner's consumer fanning them out, the endpoint grain sending to a real HTTP
/// receiver. One attempt at a time per endpoint here (<see cref="ClusterFixture.Webhooks"/>).
/// </summary>
public sealed class WebhookGrainTests(ClusterFixture fixture)
{
    private static readonly string[] ResourceEvents = [EventTypes.ResourceCreated, EventTypes.ResourceUpdated, EventTypes.ResourceDeleted];

    private async Task<(string Owner, IWebhookGrain Endpoint)> EndpointAsync(string url, string? owner = null)
    {
        owner ??= Ids.New(Ids.User);
        var id = Ids.New(Ids.Webhook);
        var endpoint = fixture.Grains.GetGrain<IWebhookGrain>(id);
        var outcome = await endpoint.CreateAsync(new WebhookDraft(owner, url, ResourceEvents, null, true, null), 10);
        Assert.Equal(WebhookStatus.Done, outcome.Status);
        return (owner, endpoint);
    }

    private Task<ResourceWriteOutcome> CreateResourceAsync(string owner, string name) =>
        fixture.Grains.GetGrain<IResourceCreatorWorker>(0).CreateAsync(Ids.New(Ids.Resource), new ResourceDraft(owner, name, null, "standard", "active", "{}"), 1000);

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what, int seconds = 30) where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    private static IReadOnlyList<JsonNode> Received(WebhookReceiver receiver, string url) => [.. receiver.At(url).Select(r => r.Json)];

    private static Task<IReadOnlyList<JsonNode>> ReceivedAsync(WebhookReceiver receiver, string url, int count) =>
        EventuallyAsync(() => Task.FromResult(Received(receiver, url) is { } received && received.Count >= count ? received : null), $"{count} deliveries");

    [Fact]
    public async Task Deliveries_go_out_in_the_order_of_the_owners_log_even_when_commits_race()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (owner, _) = await EndpointAsync(url);
        var created = (await CreateResourceAsync(owner, "first")).Resource!;
        var grain = fixture.Grains.GetGrain<IResourceGrain>(created.Id);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(ResourceWriteStatus.Done, (await grain.UpdateAsync(owner, new ResourcePatch("update " + i, null, false, null, null, null), ResourcePrecondition.None)).Status);
        }

        // Concurrent creates through both silos: their publications race, the owner's consumer restores log order.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => fixture.AllFactories[i % fixture.AllFactories.Count].GetGrain<IResourceCreatorWorker>(0)
            .CreateAsync(Ids.New(Ids.Resource), new ResourceDraft(owner, "race " + i, null, "standard", "active", "{}"), 1000)));

        var received = await ReceivedAsync(receiver, url, 16);
        var log = await fixture.EventStore.ReadAfterAsync(owner, 0, 100);
        Assert.Equal(16, log.Count);
        Assert.Equal(log.Select(e => e.Id), received.Select(r => (string)r["id"]!));
        Assert.Equal(["first", "update 0", "update 1", "update 2", "update 3", "update 4"], received.Take(6).Select(r => (string)r["data"]!["name"]!));
    }

    [Fact]
    public async Task Consecutive_failures_open_the_circuit_nothing_goes_out_while_it_is_open_and_a_probe_closes_it()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Answer(url, 500);
        var (owner, endpoint) = await EndpointAsync(url);
        for (var i = 0; i < 5; i++)
        {
            await CreateResourceAsync(owner, "r" + i);
        }

        var open = await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { TimesOpened: > 0 } state ? state : null, "the circuit to open");
        // Three failures opened it; since then each opening allowed one probe. Without the breaker, five deliveries
        // retried every 200 ms would have sent many more requests by now.
        var requests = Received(receiver, url).Count;
        var opened = (await endpoint.GetDeliveryStateAsync()).TimesOpened;
        Assert.InRange(requests, ClusterFixture.Webhooks.Breaker.FailureThreshold, ClusterFixture.Webhooks.Breaker.FailureThreshold + opened);
        Assert.True(open.ConsecutiveFailures >= ClusterFixture.Webhooks.Breaker.FailureThreshold);

        receiver.Answer(url, 200);
        var closed = await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { Circuit: CircuitStates.Closed, Queued: 0, InFlight: 0 } state
            && Received(receiver, url).Select(r => (string)r["id"]!).Distinct().Count() == 5 ? state : null, "every delivery after the probe");
        Assert.Equal(0, closed.ConsecutiveFailures);
    }

    [Fact]
    public async Task A_delivered_attempt_gives_its_slot_back_while_its_result_is_still_being_written()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl(hold: true);
        var (owner, endpoint) = await EndpointAsync(url);
        var webhookId = endpoint.GetPrimaryKeyString();
        var now = fixture.Time.GetUtcNow();
        var deliveries = new List<QueuedDelivery>();
        foreach (var name in new[] { "first", "second" })
        {
            var eventId = Ids.New(Ids.Event);
            var body = new JsonObject { ["id"] = eventId, ["type"] = EventTypes.ResourceCreated, ["data"] = new JsonObject { ["name"] = name } }.ToJsonString();
            deliveries.Add(await fixture.WebhookStore.InsertDeliveryAsync(webhookId, owner, eventId, EventTypes.ResourceCreated, body, null, null, now));
        }

        // Nothing can be written while the test holds the database's write lock: the first attempt's result waits.
        await using (var writeLock = new SqliteConnection(fixture.ConnectionString))
        {
            await writeLock.OpenAsync(TestContext.Current.CancellationToken);
            await using var transaction = writeLock.BeginTransaction(deferred: false);

            // One POST at a time here: the second delivery waits for the first one's slot.
            await endpoint.EnqueueAsync([deliveries[0]]);
            await EventuallyAsync(() => Task.FromResult(receiver.Waiting == 1 ? (object)true : null), "the first attempt");
            await endpoint.EnqueueAsync([deliveries[1]]);
            Assert.Equal(1, (await endpoint.GetDeliveryStateAsync()).Queued);
            Assert.Single(Received(receiver, url));

            // The first is answered 200 but its result cannot be recorded. Its slot is free all the same: the waiting
            // delivery goes out before the first one's result is written.
            receiver.Release(url);
            var received = await ReceivedAsync(receiver, url, 2);
            Assert.Equal(["first", "second"], received.Select(r => (string)r["data"]!["name"]!));
            Assert.Equal(2, (await endpoint.GetDeliveryStateAsync()).InFlight);
        }

        // With the lock gone both results land, fenced as ever.
        await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { InFlight: 0, Queued: 0 } state ? state : null, "both results to be recorded");
        var stored = (await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items;
        Assert.All(stored, d => Assert.Equal(DeliveryStatus.Succeeded, d.Status));
        Assert.Equal(2, stored.Count);
    }

    [Fact]
    public async Task An_endpoint_whose_attempt_reports_are_lost_reads_its_schedule_again_instead_of_stalling()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (owner, endpoint) = await EndpointAsync(url);
        var webhookId = endpoint.GetPrimaryKeyString();
        ClusterFixture.LostReports[webhookId] = true;
        try
        {
            // One more delivery than the endpoint lets wait for their reports: with every report lost, the last one
            // can only go once the endpoint gives up on the others' reports.
            var names = Enumerable.Range(1, (WebhookGrain.RecordingWindow * ClusterFixture.Webhooks.MaxConcurrentPerEndpoint) + 1).Select(i => $"d{i}").ToList();
            var now = fixture.Time.GetUtcNow();
            var deliveries = new List<QueuedDelivery>();
            foreach (var name in names)
            {
                var eventId = Ids.New(Ids.Event);
                var body = new JsonObject { ["id"] = eventId, ["type"] = EventTypes.ResourceCreated, ["data"] = new JsonObject { ["name"] = name } }.ToJsonString();
                deliveries.Add(await fixture.WebhookStore.InsertDeliveryAsync(webhookId, owner, eventId, EventTypes.ResourceCreated, body, null, null, now));
            }

            await endpoint.EnqueueAsync(deliveries);
            await EventuallyAsync(
                () => Task.FromResult(Received(receiver, url).Select(r => (string)r["data"]!["name"]!).Distinct().Count() == names.Count ? (object)true : null),
                "every delivery, the last one after the lost reports expired");
            Assert.Equal(names, Received(receiver, url).Select(r => (string)r["data"]!["name"]!).Distinct().Order());

            // The results were written all the same; once the last report is given up on too, nothing is left waiting.
            await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { InFlight: 0, Queued: 0 } state ? state : null, "the lost reports to expire");
            var stored = (await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items;
            Assert.Equal(names.Count, stored.Count);
            Assert.All(stored, d => Assert.Equal(DeliveryStatus.Succeeded, d.Status));
        }
        finally
        {
            ClusterFixture.LostReports.TryRemove(webhookId, out _);
        }
    }

    [Fact]
    public async Task A_stale_attempt_never_overwrites_what_happened_after_it_started()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl(hold: true);
        var (owner, endpoint) = await EndpointAsync(url);
        await CreateResourceAsync(owner, "held");
        await EventuallyAsync(() => Task.FromResult(receiver.Waiting == 1 ? (object)true : null), "the held attempt");

        // Disabled while the attempt is on its way: the delivery fails in the same transaction.
        Assert.Equal(WebhookStatus.Done, (await endpoint.UpdateAsync(owner, new WebhookPatch(null, null, null, false, false))).Status);
        receiver.Release(url);
        await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { InFlight: 0, Queued: 0 } state ? state : null, "the attempt to end");

        // The attempt's 200 came after the disabling: it is not recorded over it.
        var delivery = Assert.Single((await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items);
        Assert.Equal(DeliveryStatus.Failed, delivery.Status);
        Assert.Equal(0, delivery.Attempts);
        Assert.Equal(WebhookStore.NotAttemptedDisabled, delivery.LastError);

        // The fence itself: a result for an attempt count the delivery is no longer at changes nothing.
        Assert.Empty(await fixture.WebhookStore.CompleteAttemptsAsync(
            [new AttemptRecord(delivery.Id, 0, DeliveryStatus.Succeeded, 200, null, null)], fixture.Time.GetUtcNow()));
        Assert.Equal(DeliveryStatus.Failed, Assert.Single((await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items).Status);
    }

    [Fact]
    public async Task Disabling_stops_every_pending_retry_and_a_later_test_call_goes_out_alone()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Answer(url, 500);
        var (owner, endpoint) = await EndpointAsync(url);
        await CreateResourceAsync(owner, "a");
        await CreateResourceAsync(owner, "b");
        await ReceivedAsync(receiver, url, 2);

        Assert.Equal(WebhookStatus.Done, (await endpoint.UpdateAsync(owner, new WebhookPatch(null, null, null, false, false))).Status);
        var state = await endpoint.GetDeliveryStateAsync();
        Assert.False(state.Enabled);
        Assert.Equal(0, state.Queued);
        var afterDisable = (await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items;
        Assert.All(afterDisable, d => Assert.Equal(DeliveryStatus.Failed, d.Status));
        // Attempts already on the wire when the endpoint was disabled may still land (their results are fenced out);
        // nothing is sent after them.
        var receivedAtDisable = Received(receiver, url).Count(r => (string?)r["type"] == EventTypes.ResourceCreated);

        // The test call goes through the same schedule after the disabling: when it has arrived, any retry still
        // scheduled would have gone first.
        receiver.Answer(url, 200);
        Assert.Equal(WebhookStatus.Done, (await endpoint.SendTestAsync(owner)).Status);
        await EventuallyAsync(() => Task.FromResult(Received(receiver, url).Any(r => (string?)r["type"] == EventTypes.Test) ? (object)true : null), "the test call");
        await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { InFlight: 0 } s ? s : null, "the test call to end");
        var events = Received(receiver, url).Count(r => (string?)r["type"] == EventTypes.ResourceCreated);
        Assert.InRange(events, receivedAtDisable, receivedAtDisable + state.InFlight);
        var attempts = (await endpoint.ListDeliveriesAsync(owner, 0, 10))!.Items.Where(d => d.EventType == EventTypes.ResourceCreated).Sum(d => d.Attempts);
        Assert.Equal(afterDisable.Sum(d => d.Attempts), attempts);
    }

    [Fact]
    public async Task A_dead_endpoint_only_delays_itself()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var hanging = receiver.NewUrl(hold: true);
        var healthy = receiver.NewUrl();
        var (owner, _) = await EndpointAsync(hanging);
        await EndpointAsync(healthy, owner);
        for (var i = 0; i < 3; i++)
        {
            await CreateResourceAsync(owner, "r" + i);
        }

        // The same owner's other endpoint gets all three while the first is stuck on its first attempt (which may
        // reach the receiver after them: the two endpoints are handed the events independently).
        await ReceivedAsync(receiver, healthy, 3);
        await EventuallyAsync(() => Task.FromResult(receiver.Waiting == 1 ? (object)true : null), "the hanging endpoint's first attempt");
        Assert.Single(receiver.At(hanging));
        receiver.Release(hanging);
    }

    [Fact]
    public async Task A_test_call_answers_its_delivery_and_the_manual_budget_runs_out_with_a_retry_after()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (owner, endpoint) = await EndpointAsync(url);
        var limit = new WebhookOptions().ManualDeliveries.Limit;
        for (var i = 0; i < limit; i++)
        {
            var outcome = await endpoint.SendTestAsync(owner);
            Assert.Equal(WebhookStatus.Done, outcome.Status);
            Assert.Equal(EventTypes.Test, outcome.Delivery!.EventType);
        }

        var refused = await endpoint.SendTestAsync(owner);
        Assert.Equal(WebhookStatus.RateLimited, refused.Status);
        Assert.InRange(refused.RetryAfter!.Value, TimeSpan.FromTicks(1), new WebhookOptions().ManualDeliveries.Window);
        Assert.Equal(WebhookStatus.NotFound, (await endpoint.SendTestAsync(Ids.New(Ids.User))).Status);
        await ReceivedAsync(receiver, url, limit);
    }
}
