using System.Net;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>
/// The event log (<c>GET /v1/events</c>, <c>GET /v1/events/{id}</c>) and the live stream (<c>GET /v1/events/stream</c>,
/// Server-Sent Events): every change an owner makes is an event, in commit order, with the same id and body a webhook
/// receives; a stream resumes from <c>Last-Event-ID</c> without gap or duplicate; owners never see each other's events.
/// </summary>
public abstract class EventTests(ApiServer server) : ApiTestBase(server)
{
    private async Task<string> CreateAsync(TestUser user, string name, Action<HttpRequestMessage>? configure = null) =>
        (string)(await Client.PostAsync("/v1/resources", new { name }, user.Token, configure)).AssertStatus(HttpStatusCode.Created).Data["id"]!;

    [Fact]
    public async Task A_stream_carries_create_update_and_delete_in_order_with_the_webhook_body()
    {
        var user = await Client.RegisterAsync();
        await using var stream = await EventStreamReader.OpenAsync(Client, user.Token);

        var created = (await Client.PostAsync("/v1/resources", new { name = "live", metadata = new { n = 1 } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data;
        var id = (string)created["id"]!;
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "renamed" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);

        var messages = await stream.NextAsync(3);
        Assert.Equal(["resource.created", "resource.updated", "resource.deleted"], messages.Select(m => m.Event));
        Assert.All(messages, m =>
        {
            Assert.StartsWith("evt_", m.Id);
            Assert.Equal(m.Id, (string?)m.Data["id"]);
            Assert.Equal(m.Event, (string?)m.Data["type"]);
            Assert.Equal(id, (string?)m.Data["data"]!["id"]);
        });
        Assert.True(JsonNode.DeepEquals(created, messages[0].Data["data"]), messages[0].RawData);
        Assert.Equal("renamed", (string?)messages[1].Data["data"]!["name"]);

        // The same events, by the same ids and bodies, in the log.
        foreach (var m in messages)
        {
            var logged = (await Client.GetAsync($"/v1/events/{m.Id}", user.Token)).AssertStatus(HttpStatusCode.OK).Data;
            Assert.True(JsonNode.DeepEquals(m.Data, logged), logged.ToJsonString());
        }
    }

    [Fact]
    public async Task Resuming_with_Last_Event_ID_continues_with_no_gap_and_no_duplicate()
    {
        var user = await Client.RegisterAsync();
        string lastSeen;
        var before = new List<string>();
        await using (var stream = await EventStreamReader.OpenAsync(Client, user.Token))
        {
            for (var i = 0; i < 3; i++)
            {
                before.Add(await CreateAsync(user, "before-" + i));
            }

            var seen = await stream.NextAsync(3);
            Assert.Equal(before, seen.Select(m => (string)m.Data["data"]!["id"]!));
            lastSeen = seen[1].Id!; // disconnect as if the third had not arrived
        }

        // Written while no stream was open, and concurrently: commits of one owner in any order.
        var during = await Task.WhenAll(Enumerable.Range(0, 5).Select(i => CreateAsync(user, "during-" + i)));
        await using (var resumed = await EventStreamReader.OpenAsync(Client, user.Token, lastEventId: lastSeen))
        {
            var after = await CreateAsync(user, "after");
            var messages = await resumed.NextAsync(7);
            var ids = messages.Select(m => (string)m.Data["data"]!["id"]!).ToList();
            Assert.Equal(before[2], ids[0]);
            Assert.Equal(during.Order(), ids.Skip(1).Take(5).Order());
            Assert.Equal(after, ids[6]);
            Assert.Equal(ids.Count, ids.Distinct().Count());

            // The stream's order is the log's order: the list shows the same events (newest first).
            var log = (await Client.GetAsync("/v1/events?per_page=100", user.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray();
            var logIds = log.Select(e => (string)e!["id"]!).Reverse().ToList();
            Assert.Equal(logIds.Skip(logIds.IndexOf(lastSeen) + 1), messages.Select(m => m.Id));
        }

        // The query parameter works where a browser cannot set the header.
        await using var byQuery = await EventStreamReader.OpenAsync(Client, user.Token, query: "last_event_id=" + lastSeen);
        Assert.Equal(before[2], (string?)(await byQuery.NextAsync()).Data["data"]!["id"]);
    }

    [Fact]
    public async Task The_types_filter_keeps_only_the_named_types_and_resume_positions_still_count_the_others()
    {
        var user = await Client.RegisterAsync();
        await using var stream = await EventStreamReader.OpenAsync(Client, user.Token, query: "types=resource.deleted,resource.updated");
        var a = await CreateAsync(user, "a");
        (await Client.PatchAsync($"/v1/resources/{a}", new { name = "a2" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.DeleteAsync($"/v1/resources/{a}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        var messages = await stream.NextAsync(2);
        Assert.Equal(["resource.updated", "resource.deleted"], messages.Select(m => m.Event));

        using var bad = await EventStreamReader.SendAsync(Client, user.Token, query: "types=resource.exploded", cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("types", await bad.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Another_owners_events_never_reach_a_stream_or_the_log()
    {
        var owner = await Client.RegisterAsync();
        var other = await Client.RegisterAsync();
        await using var ownerStream = await EventStreamReader.OpenAsync(Client, owner.Token);
        await using var otherStream = await EventStreamReader.OpenAsync(Client, other.Token);

        var secret = await CreateAsync(owner, "secret");
        var mine = await CreateAsync(other, "mine");
        Assert.Equal(secret, (string?)(await ownerStream.NextAsync()).Data["data"]!["id"]);
        // The other owner's first event is its own: the owner's event did not come before it.
        Assert.Equal(mine, (string?)(await otherStream.NextAsync()).Data["data"]!["id"]);

        var ownerEvent = (string)(await Client.GetAsync("/v1/events", owner.Token)).Data[0]!["id"]!;
        (await Client.GetAsync($"/v1/events/{ownerEvent}", other.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        Assert.DoesNotContain(ownerEvent, (await Client.GetAsync("/v1/events", other.Token)).Body);
        // Nor can another owner resume from an id of this owner's log.
        using var refused = await EventStreamReader.SendAsync(Client, other.Token, lastEventId: ownerEvent, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    [Fact]
    public async Task An_organizations_stream_needs_membership_and_carries_its_membership_and_resource_events()
    {
        var owner = await Client.RegisterAsync("owner");
        var slug = "org-" + Guid.NewGuid().ToString("N")[..10];
        var orgId = (string)(await Client.PostAsync("/v1/organizations", new { name = "Ev " + slug, slug }, owner.Token)).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        void InOrg(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("X-Organization-Id", orgId);
        var outsider = await Client.RegisterAsync("outsider");
        using (var refused = await EventStreamReader.SendAsync(Client, outsider.Token, configure: InOrg, cancellationToken: TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }

        await using var stream = await EventStreamReader.OpenAsync(Client, owner.Token, configure: InOrg);
        var member = await Client.RegisterAsync("member");
        (await Client.PostAsync($"/v1/organizations/{orgId}/members", new { user_id = member.Id, role = "member" }, owner.Token)).AssertStatus(HttpStatusCode.Created);
        var doc = await CreateAsync(member, "org doc", InOrg);
        await CreateAsync(owner, "personal"); // the owner's own space is another owner's log
        var messages = await stream.NextAsync(2);
        Assert.Equal(["membership.created", "resource.created"], messages.Select(m => m.Event));
        Assert.Equal(member.Id, (string?)messages[0].Data["data"]!["user_id"]);
        Assert.Equal(doc, (string?)messages[1].Data["data"]!["id"]);

        var types = (await Client.GetAsync("/v1/events", member.Token, InOrg)).AssertStatus(HttpStatusCode.OK).Data.AsArray().Select(e => (string)e!["type"]!);
        Assert.Equal(["resource.created", "membership.created", "membership.created", "organization.created"], types);
    }

    [Fact]
    public async Task Open_streams_per_credential_are_capped_by_the_plan_with_402()
    {
        var user = await Client.RegisterAsync();
        var key = (string)(await Client.PostAsync("/v1/api-keys", new { name = "reader", scopes = new[] { "read" } }, user.Token)).AssertStatus(HttpStatusCode.Created).Data["key"]!;
        // The test plan allows three per credential.
        var open = new List<EventStreamReader>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                open.Add(await EventStreamReader.OpenAsync(Client, user.Token));
            }

            using (var refused = await EventStreamReader.SendAsync(Client, user.Token, cancellationToken: TestContext.Current.CancellationToken))
            {
                Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
                Assert.Contains("plan_limit_reached", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            }

            // Another credential of the same owner has its own count, and a read-only key may stream.
            await using (var byKey = await EventStreamReader.OpenAsync(Client, Credential.ApiKeyHeader(key)))
            {
                var id = await CreateAsync(user, "seen by the key");
                Assert.Equal(id, (string?)(await byKey.NextAsync()).Data["data"]!["id"]);
            }

            // Closing one frees its slot.
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await Eventually.HoldsAsync(async () =>
            {
                using var response = await EventStreamReader.SendAsync(Client, user.Token, cancellationToken: TestContext.Current.CancellationToken);
                return response.StatusCode == HttpStatusCode.OK;
            }, "a freed stream slot");
        }
        finally
        {
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_quiet_stream_sends_heartbeat_comments_and_bad_resume_ids_are_400()
    {
        var user = await Client.RegisterAsync();
        await using var stream = await EventStreamReader.OpenAsync(Client, user.Token);
        Assert.Equal("heartbeat", await stream.NextCommentAsync(TimeSpan.FromSeconds(30)));

        foreach (var bad in new[] { "nonsense", "evt_" + new string('A', 22) })
        {
            using var response = await EventStreamReader.SendAsync(Client, user.Token, lastEventId: bad, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Last-Event-ID", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }

        using var anonymous = await Client.Http.GetAsync("/v1/events/stream", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    [Fact]
    public async Task The_log_lists_newest_first_filters_by_type_and_time_and_pages_by_cursor()
    {
        var user = await Client.RegisterAsync();
        var a = await CreateAsync(user, "a");
        Server.Time.Advance(TimeSpan.FromSeconds(10));
        var middle = Server.Time.GetUtcNow();
        Server.Time.Advance(TimeSpan.FromSeconds(10));
        (await Client.PatchAsync($"/v1/resources/{a}", new { name = "a2" }, user.Token)).AssertStatus(HttpStatusCode.OK);
        var b = await CreateAsync(user, "b");
        var c = await CreateAsync(user, "c");

        var all = (await Client.GetAsync("/v1/events", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(4, (int?)all.Json["meta"]!["total"]);
        Assert.Equal(["resource.created", "resource.created", "resource.updated", "resource.created"], all.Data.AsArray().Select(e => (string)e!["type"]!));
        Assert.Equal([c, b, a, a], all.Data.AsArray().Select(e => (string)e!["data"]!["id"]!));
        Assert.All(all.Data.AsArray(), e => Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", (string?)e!["created_at"]));

        var created = (await Client.GetAsync("/v1/events?filter[type]=resource.created", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(3, (int?)created.Json["meta"]!["total"]);
        var stamp = Uri.EscapeDataString(middle.ToString("yyyy-MM-dd'T'HH:mm:ss.fffK", System.Globalization.CultureInfo.InvariantCulture));
        var later = (await Client.GetAsync($"/v1/events?created_after={stamp}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(3, (int?)later.Json["meta"]!["total"]);
        var earlier = (await Client.GetAsync($"/v1/events?created_before={stamp}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(a, (string?)Assert.Single(earlier.Data.AsArray())!["data"]!["id"]);

        var page1 = (await Client.GetAsync("/v1/events?per_page=3", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(2, (int?)page1.Json["meta"]!["total_pages"]);
        var cursor = (string)page1.Json["meta"]!["next_cursor"]!;
        var page2 = (await Client.GetAsync($"/v1/events?per_page=3&cursor={cursor}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Null((int?)page2.Json["meta"]!["page"]);
        Assert.Null((string?)page2.Json["meta"]!["next_cursor"]);
        Assert.Equal(all.Data.AsArray().Select(e => (string)e!["id"]!), page1.Data.AsArray().Concat(page2.Data.AsArray()).Select(e => (string)e!["id"]!));
        var offsetPage2 = (await Client.GetAsync("/v1/events?per_page=3&page=2", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(page2.Data.AsArray().Select(e => (string)e!["id"]!), offsetPage2.Data.AsArray().Select(e => (string)e!["id"]!));
    }

    [Theory]
    [InlineData("filter[type]=resource.exploded", "filter[type]")]
    [InlineData("filter[status]=active", "filter[status]")]
    [InlineData("created_after=yesterday", "created_after")]
    [InlineData("created_before=2025-13-45", "created_before")]
    [InlineData("cursor=not-a-cursor", "cursor")]
    [InlineData("per_page=0", "per_page")]
    [InlineData("page=1&cursor=eyJDIjoxLCJTIjoxfQ", "cursor")]
    public async Task Bad_list_parameters_are_400_naming_the_parameter(string query, string parameter)
    {
        var user = await Client.RegisterAsync();
        var problem = (await Client.GetAsync("/v1/events?" + query, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]?[parameter]);
    }

    [Fact]
    public async Task A_cursor_is_bound_to_its_filter_and_unknown_ids_are_404()
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(user, "n" + i);
        }

        var cursor = (string)(await Client.GetAsync("/v1/events?per_page=1", user.Token)).Json["meta"]!["next_cursor"]!;
        var problem = (await Client.GetAsync($"/v1/events?per_page=1&filter[type]=resource.deleted&cursor={cursor}", user.Token))
            .AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        Assert.NotNull(problem["errors"]?["cursor"]);
        (await Client.GetAsync("/v1/events/evt_nonsense", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.GetAsync("/v1/events/evt_" + new string('x', 22), user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }
}

public sealed class EventTestsOnEmbedded(EmbeddedServer server) : EventTests(server), IClassFixture<EmbeddedServer>;

public sealed class EventTestsOnPostgres(PostgresServer server) : EventTests(server), IClassFixture<PostgresServer>;
