using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Webhooks end to end against a real HTTP receiver on loopback: management and validation, signed delivery exactly as
/// a receiver verifies it, subscriptions, tenancy, retries, redelivery, disabling, tests and secret rotation.
/// </summary>
public abstract class WebhookTests(ApiServer server) : ApiTestBase(server)
{
    private static readonly string[] ResourceEvents = ["resource.created", "resource.updated", "resource.deleted"];

    private async Task<(string Id, string Secret)> CreateWebhookAsync(TestUser user, string url, string[]? events = null, object? extra = null,
        Action<HttpRequestMessage>? configure = null)
    {
        var body = new JsonObject { ["url"] = url, ["events"] = new JsonArray([.. (events ?? ResourceEvents).Select(e => (JsonNode)e!)]) };
        if (extra is not null)
        {
            foreach (var (key, value) in JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(extra))!.AsObject())
            {
                body[key] = value?.DeepClone();
            }
        }

        var created = (await Client.SendAsync(HttpMethod.Post, "/v1/webhooks", ApiClient.JsonContent(body.ToJsonString()), user.Token, configure))
            .AssertStatus(HttpStatusCode.Created);
        return ((string)created.Data["id"]!, (string)created.Data["secret"]!);
    }

    /// <summary>
    /// Polls until <paramref name="probe"/> answers non-null, for at most 20 seconds. Each round moves product time on by two
    /// seconds, so retries fall due without the test asserting any timing (and stays under the per-minute rate limit).
    /// </summary>
    private async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}.");
            }

            Server.Time.Advance(TimeSpan.FromSeconds(2));
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private Task<IReadOnlyList<ReceivedWebhook>> ReceivedAsync(WebhookReceiver receiver, string url, int count) =>
        EventuallyAsync(() => Task.FromResult(receiver.At(url) is { } got && got.Count >= count ? got : null), $"{count} request(s) at {url}");

    private async Task<JsonArray> DeliveriesAsync(TestUser user, string webhookId, Action<HttpRequestMessage>? configure = null) =>
        (await Client.GetAsync($"/v1/webhooks/{webhookId}/deliveries", user.Token, configure)).AssertStatus(HttpStatusCode.OK).Data.AsArray();

    /// <summary>Verifies a delivery as a Standard Webhooks receiver would, with every secret expected to have signed it.</summary>
    private void AssertSigned(ReceivedWebhook request, params string[] secrets)
    {
        var id = request.Header("webhook-id");
        var timestamp = request.Header("webhook-timestamp");
        Assert.StartsWith("evt_", id);
        Assert.Equal(id, (string?)JsonNode.Parse(request.Body)!["id"]);
        var sent = DateTimeOffset.FromUnixTimeSeconds(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(sent, Server.Time.GetUtcNow() - TimeSpan.FromMinutes(5), Server.Time.GetUtcNow() + TimeSpan.FromMinutes(1));
        Assert.StartsWith("application/json", request.Header("content-type"));
        Assert.False(string.IsNullOrEmpty(request.Header("user-agent")));

        var signatures = request.Header("webhook-signature").Split(' ');
        Assert.Equal(secrets.Length, signatures.Length);
        foreach (var secret in secrets)
        {
            Assert.StartsWith("whsec_", secret);
            var key = Convert.FromBase64String(secret["whsec_".Length..]);
            var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{request.Body}")));
            Assert.Contains(expected, signatures);
        }
    }

    private static JsonNode Body(ReceivedWebhook request) => JsonNode.Parse(request.Body)!;

    [Fact]
    public async Task Create_list_get_patch_and_delete_show_the_secret_only_at_creation()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var created = (await Client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.deleted", "resource.created" }, description = "mine" }, user.Token))
            .AssertStatus(HttpStatusCode.Created);
        var data = created.Data;
        var id = (string)data["id"]!;
        Assert.StartsWith("wh_", id);
        Assert.Equal($"/v1/webhooks/{id}", created.Header("Location"));
        var secret = (string)data["secret"]!;
        Assert.StartsWith("whsec_", secret);
        Assert.Equal(32, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        Assert.Equal(url, (string?)data["url"]);
        Assert.Equal(["resource.created", "resource.deleted"], data["events"]!.AsArray().Select(e => (string)e!));
        Assert.True((bool)data["enabled"]!);
        Assert.Null((string?)data["disabled_reason"]);
        Assert.Equal("mine", (string?)data["description"]);
        Assert.StartsWith((string)data["secret_prefix"]!, secret);

        var read = (await Client.GetAsync($"/v1/webhooks/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Null(read.Data["secret"]);
        Assert.DoesNotContain(secret, read.Body);
        var list = (await Client.GetAsync("/v1/webhooks", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1, (int?)list.Json["meta"]!["total"]);
        Assert.DoesNotContain(secret, list.Body);
        Server.Time.Advance(TimeSpan.FromSeconds(1));
        var second = await CreateWebhookAsync(user, receiver.NewUrl());
        list = (await Client.GetAsync("/v1/webhooks", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)list.Json["meta"]!["total"]);
        Assert.Equal([second.Id, id], list.Data.AsArray().Select(w => (string)w!["id"]!));

        var patched = (await Client.PatchAsync($"/v1/webhooks/{id}", new { events = new[] { "membership.created" }, enabled = false, description = (string?)null }, user.Token))
            .AssertStatus(HttpStatusCode.OK).Data;
        Assert.Equal(["membership.created"], patched["events"]!.AsArray().Select(e => (string)e!));
        Assert.False((bool)patched["enabled"]!);
        Assert.Null((string?)patched["description"]);
        Assert.Equal(url, (string?)patched["url"]);

        (await Client.DeleteAsync($"/v1/webhooks/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync($"/v1/webhooks/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/webhooks/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Invalid_input_answers_400_naming_the_field_and_the_plan_caps_webhooks()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        async Task AssertInvalid(object body, string field)
        {
            var problem = (await Client.PostAsync("/v1/webhooks", body, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
            Assert.NotNull(problem["errors"]?[field]);
        }

        await AssertInvalid(new { url = "not a url", events = ResourceEvents }, "url");
        await AssertInvalid(new { url = "ftp://example.com/hook", events = ResourceEvents }, "url");
        await AssertInvalid(new { url = "https://example.com/" + new string('a', 2050), events = ResourceEvents }, "url");
        await AssertInvalid(new { events = ResourceEvents }, "url");
        await AssertInvalid(new { url = "http://unresolvable-host.invalid/hook", events = ResourceEvents }, "url");
        await AssertInvalid(new { url = receiver.NewUrl(), events = new[] { "resource.exploded" } }, "events");
        await AssertInvalid(new { url = receiver.NewUrl(), events = Array.Empty<string>() }, "events");
        await AssertInvalid(new { url = receiver.NewUrl() }, "events");
        await AssertInvalid(new { url = receiver.NewUrl(), events = new[] { "webhook.test" } }, "events");
        await AssertInvalid(new { url = receiver.NewUrl(), events = ResourceEvents, secret = "plain" }, "secret");
        await AssertInvalid(new { url = receiver.NewUrl(), events = ResourceEvents, secret = "whsec_" + Convert.ToBase64String(new byte[8]) }, "secret");
        await AssertInvalid(new { url = receiver.NewUrl(), events = ResourceEvents, enabled = "yes" }, "enabled");

        var (id, _) = await CreateWebhookAsync(user, receiver.NewUrl());
        var problem = (await Client.PatchAsync($"/v1/webhooks/{id}", new { events = new[] { "nope" } }, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]?["events"]);
        problem = (await Client.PatchAsync($"/v1/webhooks/{id}", new { url = "http://unresolvable-host.invalid/x" }, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]?["url"]);

        // The test plan allows three.
        await CreateWebhookAsync(user, receiver.NewUrl());
        await CreateWebhookAsync(user, receiver.NewUrl());
        (await Client.PostAsync("/v1/webhooks", new { url = receiver.NewUrl(), events = ResourceEvents }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");
    }

    [Fact]
    public async Task Resource_events_arrive_signed_and_only_those_subscribed()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (webhookId, secret) = await CreateWebhookAsync(user, url, ["resource.created", "resource.deleted"]);

        var resource = (await Client.PostAsync("/v1/resources", new { name = "watched", metadata = new { n = 1 } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;
        var id = (string)resource["id"]!;
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "renamed" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);

        var received = await ReceivedAsync(receiver, url, 2);
        var byType = received.ToDictionary(r => (string)Body(r)["type"]!);
        Assert.Equal(["resource.created", "resource.deleted"], byType.Keys.Order());
        foreach (var request in received)
        {
            AssertSigned(request, secret);
        }

        var created = Body(byType["resource.created"]);
        Assert.True(JsonNode.DeepEquals(resource, created["data"]), created.ToJsonString());
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", (string?)created["created_at"]);
        var deleted = Body(byType["resource.deleted"]);
        Assert.Equal("renamed", (string?)deleted["data"]!["name"]);
        Assert.NotEqual(byType["resource.created"].Header("webhook-id"), byType["resource.deleted"].Header("webhook-id"));

        // The update was never queued for this endpoint: the log holds exactly the two deliveries, both succeeded.
        var log = await EventuallyAsync(async () => await DeliveriesAsync(user, webhookId) is { } d && d.All(x => (string?)x!["status"] == "succeeded") ? d : null, "the log");
        Assert.Equal(2, log.Count);
        Assert.All(log, d => Assert.Equal(200, (int?)d!["last_status_code"]));
        Assert.All(log, d => Assert.Equal(1, (int?)d!["attempts"]));
        Assert.Single(receiver.At(url), r => (string?)Body(r)["type"] == "resource.deleted");
    }

    [Fact]
    public async Task A_no_op_patch_publishes_nothing()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (webhookId, _) = await CreateWebhookAsync(user, url, ["resource.updated", "resource.deleted"]);
        var id = (string)(await Client.PostAsync("/v1/resources", new { name = "same" }, user.Token)).Data["id"]!;
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "same" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);

        await ReceivedAsync(receiver, url, 1);
        Assert.Equal("resource.deleted", (string?)Body(Assert.Single(receiver.At(url)))["type"]);
        Assert.Single(await DeliveriesAsync(user, webhookId));
    }

    [Fact]
    public async Task Another_tenants_events_never_arrive_and_its_webhooks_answer_404_to_every_verb()
    {
        var owner = await Client.RegisterAsync();
        var other = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var ownerUrl = receiver.NewUrl();
        var otherUrl = receiver.NewUrl();
        var (ownerHook, _) = await CreateWebhookAsync(owner, ownerUrl);
        var (otherHook, _) = await CreateWebhookAsync(other, otherUrl);

        (await Client.PostAsync("/v1/resources", new { name = "private" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        await ReceivedAsync(receiver, ownerUrl, 1);
        (await Client.PostAsync($"/v1/webhooks/{otherHook}/test", null, other.Token)).AssertStatus(HttpStatusCode.Accepted);
        var got = await ReceivedAsync(receiver, otherUrl, 1);
        Assert.Equal("webhook.test", (string?)Body(Assert.Single(got))["type"]);

        var delivery = (string)(await DeliveriesAsync(owner, ownerHook))[0]!["id"]!;
        (await Client.GetAsync($"/v1/webhooks/{ownerHook}", other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync($"/v1/webhooks/{ownerHook}", new { enabled = false }, other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/webhooks/{ownerHook}", other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/webhooks/{ownerHook}/test", null, other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/webhooks/{ownerHook}/rotate-secret", null, other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync($"/v1/webhooks/{ownerHook}/deliveries", other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/webhooks/{ownerHook}/deliveries/{delivery}/redeliver", null, other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PostAsync($"/v1/webhooks/{otherHook}/deliveries/{delivery}/redeliver", null, other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/webhooks", other.Token)).Json["meta"]!["total"]);
        (await Client.GetAsync("/v1/webhooks/wh_nonsense", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        Assert.True((bool)(await Client.GetAsync($"/v1/webhooks/{ownerHook}", owner.Token)).AssertStatus(HttpStatusCode.OK).Data["enabled"]!);
        Assert.Single(receiver.At(otherUrl));
    }

    [Fact]
    public async Task Failed_attempts_are_retried_with_the_same_webhook_id_and_logged_then_redelivered_on_request()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Program(url, [500, 503]);
        var (webhookId, secret) = await CreateWebhookAsync(user, url, ["resource.created"]);
        (await Client.PostAsync("/v1/resources", new { name = "retried" }, user.Token)).AssertStatus(HttpStatusCode.Created);

        var attempts = await ReceivedAsync(receiver, url, 3);
        Assert.Single(attempts.Select(a => a.Header("webhook-id")).Distinct());
        Assert.All(attempts, a => AssertSigned(a, secret));
        var entry = await EventuallyAsync(async () => (await DeliveriesAsync(user, webhookId)).SingleOrDefault(d => (string?)d!["status"] == "succeeded"), "success");
        Assert.Equal(3, (int?)entry["attempts"]);
        Assert.Equal(200, (int?)entry["last_status_code"]);
        Assert.Null((string?)entry["next_attempt_at"]);
        var eventId = (string)entry["event_id"]!;
        Assert.Equal(attempts[0].Header("webhook-id"), eventId);

        var redelivered = (await Client.PostAsync($"/v1/webhooks/{webhookId}/deliveries/{(string)entry["id"]!}/redeliver", null, user.Token))
            .AssertStatus(HttpStatusCode.Accepted).Data;
        Assert.StartsWith("whd_", (string?)redelivered["id"]);
        Assert.NotEqual((string?)entry["id"], (string?)redelivered["id"]);
        Assert.Equal(eventId, (string?)redelivered["event_id"]);
        Assert.Equal("pending", (string?)redelivered["status"]);
        var again = (await ReceivedAsync(receiver, url, 4))[3];
        Assert.Equal(eventId, again.Header("webhook-id"));
        Assert.Equal(attempts[0].Body, again.Body);
        AssertSigned(again, secret);
        var log = await EventuallyAsync(async () => await DeliveriesAsync(user, webhookId) is { Count: 2 } d && d.All(x => (string?)x!["status"] == "succeeded") ? d : null, "both succeeded");
        Assert.Equal((string?)redelivered["id"], (string?)log[0]!["id"]);
    }

    [Fact]
    public async Task A_failing_attempt_records_its_status_code_error_and_next_attempt()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Program(url, [], then: 500);
        var (webhookId, _) = await CreateWebhookAsync(user, url, ["resource.created"]);
        (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        await ReceivedAsync(receiver, url, 1);
        var entry = await EventuallyAsync(async () => (await DeliveriesAsync(user, webhookId)).SingleOrDefault(d => (int?)d!["attempts"] >= 1), "an attempt");
        Assert.Equal(500, (int?)entry["last_status_code"]);
        Assert.Contains("500", (string?)entry["last_error"]);
        Assert.Equal("webhook.test", (string?)entry["event_type"]);
    }

    [Fact]
    public async Task An_endpoint_answering_410_is_disabled_at_once()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Program(url, [], then: 410);
        var (webhookId, _) = await CreateWebhookAsync(user, url, ["resource.created"]);
        (await Client.PostAsync("/v1/resources", new { name = "gone" }, user.Token)).AssertStatus(HttpStatusCode.Created);

        var webhook = await EventuallyAsync(async () => (await Client.GetAsync($"/v1/webhooks/{webhookId}", user.Token)).Data is { } w && !(bool)w["enabled"]! ? w : null, "disabling");
        Assert.Equal("endpoint returned 410 Gone", (string?)webhook["disabled_reason"]);
        var entry = Assert.Single(await DeliveriesAsync(user, webhookId))!;
        Assert.Equal("failed", (string?)entry["status"]);
        Assert.Equal(1, (int?)entry["attempts"]);
        Assert.Equal(410, (int?)entry["last_status_code"]);

        // Disabled: new events are not queued for it. A second endpoint subscribed to the same event is the barrier:
        // the fan-out stores every endpoint's delivery in one transaction, so once the second has its request, the
        // first would have had its delivery too.
        var witnessUrl = receiver.NewUrl();
        await CreateWebhookAsync(user, witnessUrl, ["resource.created"]);
        (await Client.PostAsync("/v1/resources", new { name = "ignored" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        await ReceivedAsync(receiver, witnessUrl, 1);
        Assert.Single(await DeliveriesAsync(user, webhookId));
        Assert.Single(receiver.At(url));
    }

    [Fact]
    public async Task Failing_for_the_whole_schedule_disables_the_webhook_and_enabling_it_again_works()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Program(url, [], then: 500);
        var (webhookId, secret) = await CreateWebhookAsync(user, url, ["resource.created"]);
        (await Client.PostAsync("/v1/resources", new { name = "doomed" }, user.Token)).AssertStatus(HttpStatusCode.Created);

        var webhook = await EventuallyAsync(async () => (await Client.GetAsync($"/v1/webhooks/{webhookId}", user.Token)).Data is { } w && !(bool)w["enabled"]! ? w : null, "disabling");
        Assert.Equal("failing for the whole retry schedule", (string?)webhook["disabled_reason"]);
        // The first attempt and one per delay of the (three-step) test schedule.
        var entry = Assert.Single(await DeliveriesAsync(user, webhookId))!;
        Assert.Equal("failed", (string?)entry["status"]);
        Assert.Equal(4, (int?)entry["attempts"]);
        Assert.Equal(500, (int?)entry["last_status_code"]);
        Assert.Equal(4, receiver.At(url).Count);

        receiver.Program(url, [], then: 204);
        var enabled = (await Client.PatchAsync($"/v1/webhooks/{webhookId}", new { enabled = true }, user.Token)).AssertStatus(HttpStatusCode.OK).Data;
        Assert.True((bool)enabled["enabled"]!);
        Assert.Null((string?)enabled["disabled_reason"]);
        (await Client.PostAsync("/v1/resources", new { name = "welcome back" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var back = (await ReceivedAsync(receiver, url, 5))[4];
        Assert.Equal("welcome back", (string?)Body(back)["data"]!["name"]);
        AssertSigned(back, secret);
    }

    [Fact]
    public async Task Test_calls_and_redeliveries_share_a_per_endpoint_budget_answered_with_429_and_Retry_After()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (webhookId, _) = await CreateWebhookAsync(user, url, ["resource.created"]);
        var (otherId, _) = await CreateWebhookAsync(user, receiver.NewUrl(), ["resource.created"]);

        // The test settings allow four per endpoint and window.
        var first = (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted).Data;
        for (var i = 0; i < 2; i++)
        {
            (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        }

        (await Client.PostAsync($"/v1/webhooks/{webhookId}/deliveries/{(string)first["id"]!}/redeliver", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        var refused = await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token);
        refused.AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");
        Assert.InRange(int.Parse(refused.Header("Retry-After")!, System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        (await Client.PostAsync($"/v1/webhooks/{webhookId}/deliveries/{(string)first["id"]!}/redeliver", null, user.Token))
            .AssertProblem(HttpStatusCode.TooManyRequests, "rate_limit_exceeded");

        // Another endpoint has its own budget, and the window passes with (product) time.
        (await Client.PostAsync($"/v1/webhooks/{otherId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        Server.Time.Advance(TimeSpan.FromMinutes(1));
        (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        await ReceivedAsync(receiver, url, 5);
    }

    [Fact]
    public async Task Disabling_an_endpoint_fails_its_pending_retries_at_once_and_sends_nothing_more()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        receiver.Program(url, [], then: 500);
        var (webhookId, _) = await CreateWebhookAsync(user, url, ["resource.created"]);
        (await Client.PostAsync("/v1/resources", new { name = "failing" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        var entry = await EventuallyAsync(async () => (await DeliveriesAsync(user, webhookId)).SingleOrDefault(d => (int?)d!["attempts"] >= 1), "a failed attempt");
        Assert.Equal("pending", (string?)entry["status"]);

        (await Client.PatchAsync($"/v1/webhooks/{webhookId}", new { enabled = false }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var stopped = Assert.Single(await DeliveriesAsync(user, webhookId))!;
        Assert.Equal("failed", (string?)stopped["status"]);
        Assert.Equal("not attempted: the webhook was disabled", (string?)stopped["last_error"]);
        Assert.Null((string?)stopped["next_attempt_at"]);
        var attemptsAtDisable = (int)stopped["attempts"]!;

        // A test call is the barrier: it goes out once from the same schedule after the disabling, so any retry still
        // scheduled there would have gone first. Retries were 200 ms apart; nothing more came for the event.
        receiver.Program(url, [], then: 200);
        (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        var requests = await EventuallyAsync(() => Task.FromResult(receiver.At(url).Any(r => (string?)Body(r)["type"] == "webhook.test") ? receiver.At(url) : null), "the test call");
        Assert.Equal(attemptsAtDisable, requests.Count(r => (string?)Body(r)["type"] == "resource.created"));
        Assert.Equal(attemptsAtDisable, (int?)(await DeliveriesAsync(user, webhookId)).Single(d => (string?)d!["event_type"] == "resource.created")!["attempts"]);
    }

    [Fact]
    public async Task One_tenants_hanging_endpoints_do_not_hold_up_another_tenants_delivery()
    {
        var stuck = await Client.RegisterAsync();
        var fine = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var hanging = Enumerable.Range(0, 3).Select(_ => receiver.NewUrl()).ToList();
        foreach (var url in hanging)
        {
            receiver.Hang(url);
            await CreateWebhookAsync(stuck, url, ["resource.created"]);
        }

        var fineUrl = receiver.NewUrl();
        await CreateWebhookAsync(fine, fineUrl, ["resource.created"]);
        for (var i = 0; i < 4; i++)
        {
            (await Client.PostAsync("/v1/resources", new { name = "stuck " + i }, stuck.Token)).AssertStatus(HttpStatusCode.Created);
        }

        await EventuallyAsync(() => Task.FromResult(receiver.Waiting >= 3 ? (object)true : null), "the hanging requests");
        (await Client.PostAsync("/v1/resources", new { name = "fine" }, fine.Token)).AssertStatus(HttpStatusCode.Created);
        await ReceivedAsync(receiver, fineUrl, 1);
        // Delivered while every hanging request was still held.
        Assert.True(receiver.Waiting >= 3, $"{receiver.Waiting} requests still held");
        foreach (var url in hanging)
        {
            receiver.Release(url);
        }
    }

    [Fact]
    public async Task Deleting_the_organization_stops_its_pending_retries_and_delivers_its_last_events_once()
    {
        var owner = await Client.RegisterAsync("owner");
        var slug = "org-" + Guid.NewGuid().ToString("N")[..10];
        var orgId = (string)(await Client.PostAsync("/v1/organizations", new { name = "Gone " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        void InOrg(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        // The first attempt fails, the retry is held open across the deletion, everything after fails.
        receiver.Program(url, [500, WebhookReceiver.Hold], then: 500);
        var (webhookId, _) = await CreateWebhookAsync(owner, url, ["resource.created", "organization.deleted"], configure: InOrg);
        (await Client.PostAsync("/v1/resources", new { name = "retried" }, owner.Token, InOrg)).AssertStatus(HttpStatusCode.Created);
        await EventuallyAsync(() => Task.FromResult(receiver.Waiting == 1 ? (object)true : null), "the held retry");

        (await Client.DeleteAsync($"/v1/organizations/{orgId}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        // organization.deleted gets its one attempt (answered 500 here, and not retried).
        var deleted = await EventuallyAsync(() => Task.FromResult(receiver.At(url).FirstOrDefault(r => (string?)Body(r)["type"] == "organization.deleted")),
            "organization.deleted");
        Assert.Equal(orgId, (string?)Body(deleted)["data"]!["id"]);

        // The held retry now answers 200, but its delivery was stopped by the deletion: its result does not count, and
        // the endpoint's schedule ends up empty, with nothing in flight.
        receiver.Release(url);
        var endpoint = Server.Services.GetRequiredService<IGrainFactory>().GetGrain<ApiPlatform.Grains.Webhooks.IWebhookGrain>(webhookId);
        await EventuallyAsync(async () => await endpoint.GetDeliveryStateAsync() is { Queued: 0, InFlight: 0, Enabled: false } state ? state : null, "an empty schedule");
        var requests = receiver.At(url);
        Assert.Equal(2, requests.Count(r => (string?)Body(r)["type"] == "resource.created"));
        Assert.Equal(1, requests.Count(r => (string?)Body(r)["type"] == "organization.deleted"));
    }

    [Fact]
    public async Task The_test_call_reaches_only_this_endpoint_whatever_it_subscribes_to()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var otherUrl = receiver.NewUrl();
        var (webhookId, secret) = await CreateWebhookAsync(user, url, ["membership.deleted"]);
        await CreateWebhookAsync(user, otherUrl, ["membership.deleted"]);

        var delivery = (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted).Data;
        Assert.StartsWith("whd_", (string?)delivery["id"]);
        Assert.Equal("webhook.test", (string?)delivery["event_type"]);
        var request = Assert.Single(await ReceivedAsync(receiver, url, 1));
        AssertSigned(request, secret);
        var body = Body(request);
        Assert.Equal("webhook.test", (string?)body["type"]);
        Assert.Equal(webhookId, (string?)body["data"]!["webhook_id"]);
        Assert.Equal((string?)delivery["event_id"], request.Header("webhook-id"));
        Assert.Empty(receiver.At(otherUrl));
    }

    [Fact]
    public async Task A_rotated_secret_signs_next_to_the_new_one_during_the_overlap()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var given = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        var (webhookId, secret) = await CreateWebhookAsync(user, url, extra: new { secret = given });
        Assert.Equal(given, secret);

        var rotated = (await Client.PostAsync($"/v1/webhooks/{webhookId}/rotate-secret", null, user.Token)).AssertStatus(HttpStatusCode.OK).Data;
        var fresh = (string)rotated["secret"]!;
        Assert.NotEqual(given, fresh);
        Assert.StartsWith("whsec_", fresh);
        Assert.Null((await Client.GetAsync($"/v1/webhooks/{webhookId}", user.Token)).Data["secret"]);

        (await Client.PostAsync($"/v1/webhooks/{webhookId}/test", null, user.Token)).AssertStatus(HttpStatusCode.Accepted);
        var request = Assert.Single(await ReceivedAsync(receiver, url, 1));
        AssertSigned(request, fresh, given);
    }

    [Fact]
    public async Task In_an_organization_admins_manage_webhooks_members_get_403_and_membership_events_arrive()
    {
        var owner = await Client.RegisterAsync("owner");
        var slug = "org-" + Guid.NewGuid().ToString("N")[..10];
        var orgId = (string)(await Client.PostAsync("/v1/organizations", new { name = "Hooks " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        void InOrg(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);
        var member = await Client.RegisterAsync("member");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = member.Id, role = "member" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        // The member joined before the webhook existed: that event is not the webhook's, however late the relay runs.
        Server.Time.Advance(TimeSpan.FromSeconds(5));
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();

        (await Client.PostAsync("/v1/webhooks", new { url, events = ResourceEvents }, member.Token, InOrg)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.GetAsync("/v1/webhooks", member.Token, InOrg)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        var (webhookId, secret) = await CreateWebhookAsync(owner, url, ["membership.created", "membership.updated", "resource.created"], configure: InOrg);
        (await Client.GetAsync($"/v1/webhooks/{webhookId}", member.Token, InOrg)).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        // The organization's webhook is not the owner's own.
        (await Client.GetAsync($"/v1/webhooks/{webhookId}", owner.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");

        var joiner = await Client.RegisterAsync("joiner");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = joiner.Id, role = "admin" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        (await Client.PostAsync("/v1/resources", new { name = "org doc" }, member.Token, InOrg)).AssertStatus(HttpStatusCode.Created);
        // The owner's personal resources are another tenant's.
        (await Client.PostAsync("/v1/resources", new { name = "personal" }, owner.Token)).AssertStatus(HttpStatusCode.Created);

        var received = await ReceivedAsync(receiver, url, 2);
        Assert.All(received, r => AssertSigned(r, secret));
        var membership = Body(received.Single(r => (string?)Body(r)["type"] == "membership.created"));
        Assert.Equal(joiner.Id, (string?)membership["data"]!["user_id"]);
        Assert.Equal(orgId, (string?)membership["data"]!["organization_id"]);
        Assert.Equal("admin", (string?)membership["data"]!["role"]);
        Assert.Equal("org doc", (string?)Body(received.Single(r => (string?)Body(r)["type"] == "resource.created"))["data"]!["name"]);
        var log = await EventuallyAsync(async () => await DeliveriesAsync(owner, webhookId, InOrg) is { Count: 2 } d && d.All(x => (string?)x!["status"] == "succeeded") ? d : null, "log");
        Assert.Equal(2, receiver.At(url).Count);
        Assert.Equal(2, log.Count);
    }

    [Fact]
    public async Task Organization_and_membership_changes_reach_the_organizations_webhooks_including_its_deletion()
    {
        var owner = await Client.RegisterAsync("owner");
        var slug = "org-" + Guid.NewGuid().ToString("N")[..10];
        var orgId = (string)(await Client.PostAsync("/v1/organizations", new { name = "Life " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        void InOrg(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (_, secret) = await CreateWebhookAsync(owner, url,
            ["organization.updated", "organization.deleted", "membership.updated", "membership.deleted"], configure: InOrg);

        var member = await Client.RegisterAsync("member");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = member.Id, role = "member" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        (await Client.PatchAsync($"/v1/organizations/{orgId}/members/{member.Id}", new { role = "admin" }, owner.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/organizations/{orgId}/members/{member.Id}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.PatchAsync($"/v1/organizations/{orgId}", new { name = "Renamed " + slug }, owner.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/organizations/{orgId}", owner.Token)).AssertStatus(HttpStatusCode.NoContent);

        var received = await ReceivedAsync(receiver, url, 4);
        Assert.All(received, r => AssertSigned(r, secret));
        var types = received.Select(r => (string)Body(r)["type"]!).Order().ToList();
        Assert.Equal(["membership.deleted", "membership.updated", "organization.deleted", "organization.updated"], types);
        var updated = Body(received.Single(r => (string?)Body(r)["type"] == "membership.updated"));
        Assert.Equal("admin", (string?)updated["data"]!["role"]);
        var deleted = Body(received.Single(r => (string?)Body(r)["type"] == "organization.deleted"));
        Assert.Equal(orgId, (string?)deleted["data"]!["id"]);
        Assert.Equal("Renamed " + slug, (string?)deleted["data"]!["name"]);
    }
}

public sealed class WebhookTestsOnEmbedded(EmbeddedServer server) : WebhookTests(server), IClassFixture<EmbeddedServer>;

public sealed class WebhookTestsOnPostgres(PostgresServer server) : WebhookTests(server), IClassFixture<PostgresServer>;
