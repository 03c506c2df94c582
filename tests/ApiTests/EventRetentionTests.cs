using System.Net;
using ApiPlatform.ApiTests.Infrastructure;
using ApiPlatform.Grains.Events;
using Microsoft.Extensions.DependencyInjection;

namespace ApiPlatform.ApiTests;

/// <summary>
/// Retention: events older than <c>Events:Retention</c> and finished deliveries older than
/// <c>Webhooks:DeliveryRetention</c> (30 days each) are purged by the recovery sweep; what is younger stays. Product
/// time is moved past the retention, so each storage mode gets a server of its own.
/// </summary>
public abstract class EventRetentionTests(ApiServer server) : ApiTestBase(server)
{
    [Fact]
    public async Task The_sweep_purges_events_and_finished_deliveries_past_their_retention_and_keeps_the_rest()
    {
        var user = await Client.RegisterAsync();
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var webhookId = (string)(await Client.PostAsync("/v1/webhooks", new { url, events = new[] { "resource.created" } }, user.Token))
            .AssertStatus(HttpStatusCode.Created).Data["id"]!;
        (await Client.PostAsync("/v1/resources", new { name = "old" }, user.Token)).AssertStatus(HttpStatusCode.Created);
        await Eventually.HoldsAsync(async () => (await Client.GetAsync($"/v1/webhooks/{webhookId}/deliveries", user.Token)).Data.AsArray()
            .Any(d => (string?)d!["status"] == "succeeded"), "the old delivery");
        var oldEvent = (string)(await Client.GetAsync("/v1/events", user.Token)).Data[0]!["id"]!;

        Server.Time.Advance(TimeSpan.FromDays(31));
        var token = Credential.Bearer((string)(await Client.LoginAsync(user.Email, user.Password))["access_token"]!);
        var fresh = (string)(await Client.PostAsync("/v1/resources", new { name = "fresh" }, token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        await Eventually.HoldsAsync(async () => (await Client.GetAsync($"/v1/webhooks/{webhookId}/deliveries", token)).Data.AsArray()
            .Count(d => (string?)d!["status"] == "succeeded") == 2, "the fresh delivery");

        await Server.Services.GetRequiredService<IGrainFactory>().GetGrain<IEventSweepGrain>(0).SweepAsync();

        var events = (await Client.GetAsync("/v1/events", token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(fresh, (string?)Assert.Single(events.Data.AsArray())!["data"]!["id"]);
        Assert.Equal(1, (int?)events.Json["meta"]!["total"]);
        (await Client.GetAsync($"/v1/events/{oldEvent}", token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        var deliveries = (await Client.GetAsync($"/v1/webhooks/{webhookId}/deliveries", token)).AssertStatus(HttpStatusCode.OK).Data.AsArray();
        Assert.Equal("resource.created", (string?)Assert.Single(deliveries)!["event_type"]);
        Assert.NotEqual(oldEvent, (string?)deliveries[0]!["event_id"]);

        // A stream cannot resume from a purged event: it says so instead of skipping what it no longer has.
        using var refused = await EventStreamReader.SendAsync(Client, token, lastEventId: oldEvent, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}

public sealed class EventRetentionTestsOnEmbedded(EmbeddedServer server) : EventRetentionTests(server), IClassFixture<EmbeddedServer>;

public sealed class EventRetentionTestsOnPostgres(PostgresServer server) : EventRetentionTests(server), IClassFixture<PostgresServer>;
