using System.Net;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// Three processes on PostgreSQL, the third of which commits its changes without publishing them (as a silo killed
/// right after a commit would leave them): only the recovery sweep can deliver those.
/// </summary>
public sealed class EventCluster : ProcessCluster
{
    public const int Unpublishing = 3;

    protected override void Configure(int silo, Dictionary<string, string> environment)
    {
        if (silo == Unpublishing)
        {
            environment["Events__PublishOnCommit"] = "false";
        }

        // Held deliveries stay held for the whole test rather than timing out.
        environment["Webhooks__DeliveryTimeout"] = "00:02:00";
    }
}

/// <summary>Events across real silo processes: live streams, the crash of the committing silo, one tenant's dead endpoints.</summary>
public sealed class EventClusterTests(EventCluster cluster) : IClassFixture<EventCluster>
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private HttpClient[] Clients() => cluster.Silos.Select(s => Api.Client(s.BaseAddress)).ToArray();

    private static async Task<string> CreateAsync(HttpClient silo, string token, string name)
    {
        var (status, json, _) = await Api.SendAsync(silo, HttpMethod.Post, "/v1/resources", new { name }, token);
        Assert.Equal(HttpStatusCode.Created, status);
        return (string)json!["data"]!["id"]!;
    }

    private static async Task<string> WebhookAsync(HttpClient silo, string token, string url)
    {
        var (status, json, _) = await Api.SendAsync(silo, HttpMethod.Post, "/v1/webhooks", new { url, events = new[] { "resource.created" } }, token);
        Assert.Equal(HttpStatusCode.Created, status);
        return (string)json!["data"]!["id"]!;
    }

    [Fact]
    public async Task A_stream_on_one_silo_sees_changes_committed_through_another_in_order()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var silos = Clients();
        var (_, token) = await Api.RegisterAsync(silos[0]);
        await using var stream = await SseClient.OpenAsync(cluster.Silos[0].BaseAddress, token);

        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await CreateAsync(silos[1], token, "through silo2 #" + i));
        }

        var received = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var (_, type, data) = await stream.NextAsync(Limit);
            Assert.Equal("resource.created", type);
            received.Add((string)data["data"]!["id"]!);
        }

        Assert.Equal(ids, received);
    }

    [Fact]
    public async Task An_event_whose_silo_was_killed_after_the_commit_still_reaches_the_webhook_and_a_resuming_stream()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var silos = Clients();
        var doomed = cluster.Silos[EventCluster.Unpublishing - 1];
        await using var receiver = await WebhookReceiver.StartAsync();
        var url = receiver.NewUrl();
        var (_, token) = await Api.RegisterAsync(silos[0]);
        await WebhookAsync(silos[0], token, url);

        // A stream on the silo that will die sees what another silo published.
        string lastSeen;
        await using (var stream = await SseClient.OpenAsync(doomed.BaseAddress, token))
        {
            var first = await CreateAsync(silos[0], token, "before");
            var (id, _, data) = await stream.NextAsync(Limit);
            Assert.Equal(first, (string?)data["data"]!["id"]);
            lastSeen = id;

            // Committed through the doomed silo, which never publishes it: then it dies.
            var orphan = await CreateAsync(silos[EventCluster.Unpublishing - 1], token, "orphan");
            await doomed.KillAsync();
            await cluster.WaitUntilDeclaredDeadAsync(doomed, Limit);

            await KillTests.WaitUntilAsync(() => receiver.At(url).Any(r => (string?)r.Json["data"]!["id"] == orphan), Limit);
            Assert.Single(receiver.At(url), r => (string?)r.Json["data"]!["id"] == orphan);

            // The stream's client reconnects elsewhere from the last id it saw: the orphan is next, nothing is skipped.
            await using var resumed = await SseClient.OpenAsync(cluster.Silos[0].BaseAddress, token, lastSeen);
            var (_, type, next) = await resumed.NextAsync(Limit);
            Assert.Equal("resource.created", type);
            Assert.Equal(orphan, (string?)next["data"]!["id"]);
        }

        await doomed.StartAsync();
    }

    [Fact]
    public async Task One_tenants_hanging_endpoints_do_not_delay_another_tenants_delivery()
    {
        Assert.SkipUnless(cluster.Available, "PostgreSQL is not running: run ./test.sh (or set TEST_POSTGRES).");
        var silos = Clients();
        await using var receiver = await WebhookReceiver.StartAsync();
        var (_, stuck) = await Api.RegisterAsync(silos[0]);
        var (_, fine) = await Api.RegisterAsync(silos[1]);
        for (var i = 0; i < 5; i++)
        {
            await WebhookAsync(silos[i % 2], stuck, receiver.NewUrl(hold: true));
        }

        var fineUrl = receiver.NewUrl();
        await WebhookAsync(silos[1], fine, fineUrl);
        for (var i = 0; i < 4; i++)
        {
            await CreateAsync(silos[i % 2], stuck, "stuck #" + i);
        }

        // Five endpoints of the first tenant hang, each holding its first attempt.
        await KillTests.WaitUntilAsync(() => receiver.Waiting >= 5, Limit);
        var id = await CreateAsync(silos[0], fine, "fine");
        await KillTests.WaitUntilAsync(() => receiver.At(fineUrl).Count == 1, Limit);
        Assert.Equal(id, (string?)receiver.At(fineUrl)[0].Json["data"]!["id"]);
        // Delivered while all five were still held.
        Assert.True(receiver.Waiting >= 5, $"{receiver.Waiting} requests held");
    }
}
