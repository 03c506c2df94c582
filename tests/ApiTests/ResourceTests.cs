using System.Net;
using System.Text.Json.Nodes;
using ApiPlatform.ApiTests.Infrastructure;

namespace ApiPlatform.ApiTests;

/// <summary>The Resources API: documents, tenancy, listing, ETags, idempotent retries and plan caps.</summary>
public abstract class ResourceTests(ApiServer server) : ApiTestBase(server)
{
    private async Task<JsonNode> CreateAsync(TestUser user, object body) =>
        (await Client.PostAsync("/v1/resources", body, user.Token)).AssertStatus(HttpStatusCode.Created).Data;

    [Fact]
    public async Task Create_answers_201_with_location_etag_defaults_and_server_timestamps()
    {
        var user = await Client.RegisterAsync();
        var response = await Client.PostAsync("/v1/resources",
            new { name = "New Resource", created_at = "1999-01-01T00:00:00Z", updated_at = "1999-01-01T00:00:00Z", id = "res_mine" }, user.Token);

        response.AssertStatus(HttpStatusCode.Created);
        var data = response.Data;
        var id = (string)data["id"]!;
        Assert.StartsWith("res_", id);
        Assert.NotEqual("res_mine", id);
        Assert.Equal($"/v1/resources/{id}", response.Header("Location"));
        Assert.Equal("\"1\"", response.Header("ETag"));
        Assert.Equal("standard", (string?)data["type"]);
        Assert.Equal("active", (string?)data["status"]);
        Assert.Empty(data["metadata"]!.AsObject());
        Assert.Null((string?)data["description"]);
        Assert.NotEqual("1999-01-01T00:00:00Z", (string?)data["created_at"]);
        Assert.Equal((string?)data["created_at"], (string?)data["updated_at"]);
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", (string?)data["created_at"]);

        var read = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(data.ToJsonString(), read.Data.ToJsonString());
        Assert.Equal("\"1\"", read.Header("ETag"));
    }

    [Fact]
    public async Task Patch_replaces_named_fields_and_merges_metadata_as_json_merge_patch()
    {
        var user = await Client.RegisterAsync();
        var created = await CreateAsync(user, new
        {
            name = "a", description = "d", type = "widget",
            metadata = new { keep = 1, drop = 2, nested = new { x = 1, y = 2 }, list = new[] { 1, 2 } },
        });
        var id = (string)created["id"]!;
        Server.Time.Advance(TimeSpan.FromSeconds(5));

        var patched = await Client.SendAsync(HttpMethod.Patch, $"/v1/resources/{id}", ApiClient.JsonContent(
            """{"name": "b", "status": "archived", "metadata": {"drop": null, "nested": {"y": null, "z": 3}, "list": [9], "added": "new"}}"""), user.Token);
        patched.AssertStatus(HttpStatusCode.OK);
        Assert.Equal("\"2\"", patched.Header("ETag"));
        var data = patched.Data;
        Assert.Equal("b", (string?)data["name"]);
        Assert.Equal("d", (string?)data["description"]);
        Assert.Equal("widget", (string?)data["type"]);
        Assert.Equal("archived", (string?)data["status"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"keep": 1, "nested": {"x": 1, "z": 3}, "list": [9], "added": "new"}"""), data["metadata"]));
        Assert.Equal((string?)created["created_at"], (string?)data["created_at"]);
        Assert.NotEqual((string?)created["updated_at"], (string?)data["updated_at"]);

        var cleared = (await Client.SendAsync(HttpMethod.Patch, $"/v1/resources/{id}",
            ApiClient.JsonContent("""{"description": null, "metadata": null}"""), user.Token)).AssertStatus(HttpStatusCode.OK).Data;
        Assert.Null((string?)cleared["description"]);
        Assert.Empty(cleared["metadata"]!.AsObject());
    }

    [Fact]
    public async Task Patch_accepts_the_merge_patch_media_type()
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "a" }))["id"]!;
        var response = await Client.SendAsync(HttpMethod.Patch, $"/v1/resources/{id}",
            ApiClient.JsonContent("""{"name": "merged"}""", "application/merge-patch+json"), user.Token);
        Assert.Equal("merged", (string?)response.AssertStatus(HttpStatusCode.OK).Data["name"]);
    }

    [Fact]
    public async Task Delete_answers_204_and_the_resource_is_gone()
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "doomed" }))["id"]!;

        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }

    [Fact]
    public async Task Another_tenants_resource_is_404_on_every_verb_and_stays_untouched()
    {
        var owner = await Client.RegisterAsync();
        var stranger = await Client.RegisterAsync();
        var (_, strangerKey) = await Client.CreateApiKeyAsync(stranger.Token);
        var id = (string)(await CreateAsync(owner, new { name = "private" }))["id"]!;

        foreach (var credential in new[] { stranger.Token, Credential.ApiKeyHeader(strangerKey) })
        {
            (await Client.GetAsync($"/v1/resources/{id}", credential)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
            (await Client.PatchAsync($"/v1/resources/{id}", new { name = "stolen" }, credential)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
            (await Client.DeleteAsync($"/v1/resources/{id}", credential)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
            Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", credential)).Json["meta"]!["total"]);
        }

        var still = (await Client.GetAsync($"/v1/resources/{id}", owner.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("private", (string?)still.Data["name"]);
        Assert.Equal("\"1\"", still.Header("ETag"));
    }

    [Fact]
    public async Task An_api_key_acts_for_its_owner_and_a_read_only_key_cannot_write()
    {
        var user = await Client.RegisterAsync();
        var (_, key) = await Client.CreateApiKeyAsync(user.Token);
        var (_, reader) = await Client.CreateApiKeyAsync(user.Token, new { name = "ro", scopes = new[] { "read" } });

        var id = (string)(await Client.PostAsync("/v1/resources", new { name = "via key" }, Credential.Bearer(key))).AssertStatus(HttpStatusCode.Created).Data["id"]!;
        (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        (await Client.GetAsync($"/v1/resources/{id}", Credential.ApiKeyHeader(reader))).AssertStatus(HttpStatusCode.OK);
        (await Client.PostAsync("/v1/resources", new { name = "no" }, Credential.ApiKeyHeader(reader))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        (await Client.DeleteAsync($"/v1/resources/{id}", Credential.ApiKeyHeader(reader))).AssertProblem(HttpStatusCode.Forbidden, "insufficient_permissions");
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Every_change_is_in_the_very_next_list_call()
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "first" }))["id"]!;
        var list = (await Client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(1, (int?)list.Json["meta"]!["total"]);
        Assert.Equal(id, (string?)list.Data[0]!["id"]);

        await Client.PatchAsync($"/v1/resources/{id}", new { name = "renamed", status = "inactive" }, user.Token);
        list = await Client.GetAsync("/v1/resources?filter[status]=inactive", user.Token);
        Assert.Equal("renamed", (string?)list.Data[0]!["name"]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources?filter[status]=active", user.Token)).Json["meta"]!["total"]);

        await Client.DeleteAsync($"/v1/resources/{id}", user.Token);
        list = await Client.GetAsync("/v1/resources", user.Token);
        Assert.Equal(0, (int?)list.Json["meta"]!["total"]);
        Assert.Empty(list.Data.AsArray());
    }

    [Fact]
    public async Task Lists_sort_filter_and_page_with_exact_totals()
    {
        var user = await Client.RegisterAsync();
        var specs = new (string Name, string Type, string Status)[]
        {
            ("delta", "a", "active"), ("alpha", "b", "inactive"), ("charlie", "a", "active"), ("bravo", "b", "archived"),
            ("echo", "a", "active"), ("alpha", "a", "inactive"), ("foxtrot", "c", "active"),
        };
        var ids = new List<string>();
        foreach (var (name, type, status) in specs)
        {
            ids.Add((string)(await CreateAsync(user, new { name, type, status }))["id"]!);
            Server.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var byDefault = (await Client.GetAsync("/v1/resources", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(Enumerable.Reverse(ids), byDefault.Data.AsArray().Select(r => (string)r!["id"]!));
        var meta = byDefault.Json["meta"]!;
        Assert.Equal(1, (int?)meta["page"]);
        Assert.Equal(20, (int?)meta["per_page"]);
        Assert.Equal(7, (int?)meta["total"]);
        Assert.Equal(1, (int?)meta["total_pages"]);

        var byName = (await Client.GetAsync("/v1/resources?sort=name,-created_at", user.Token)).Data.AsArray().Select(r => (string)r!["name"]!).ToList();
        Assert.Equal(["alpha", "alpha", "bravo", "charlie", "delta", "echo", "foxtrot"], byName);
        var alphas = (await Client.GetAsync("/v1/resources?sort=name,-created_at&per_page=2", user.Token)).Data.AsArray().Select(r => (string)r!["id"]!);
        Assert.Equal([ids[5], ids[1]], alphas);

        var byNameDesc = (await Client.GetAsync("/v1/resources?sort=-name", user.Token)).Data.AsArray().Select(r => (string)r!["name"]!).ToList();
        Assert.Equal("foxtrot", byNameDesc[0]);

        var filtered = await Client.GetAsync("/v1/resources?filter[type]=a&filter[status]=active&sort=created_at", user.Token);
        Assert.Equal([ids[0], ids[2], ids[4]], filtered.Data.AsArray().Select(r => (string)r!["id"]!));
        Assert.Equal(3, (int?)filtered.Json["meta"]!["total"]);

        var seen = new List<string>();
        for (var page = 1; page <= 3; page++)
        {
            var response = await Client.GetAsync($"/v1/resources?per_page=3&page={page}&sort=status,name", user.Token);
            Assert.Equal(3, (int?)response.Json["meta"]!["total_pages"]);
            seen.AddRange(response.Data.AsArray().Select(r => (string)r!["id"]!));
        }

        Assert.Equal(7, seen.Count);
        Assert.Equal(7, seen.Distinct().Count());
        Assert.Empty((await Client.GetAsync("/v1/resources?per_page=3&page=4", user.Token)).AssertStatus(HttpStatusCode.OK).Data.AsArray());
    }

    [Theory]
    [InlineData("created_at")]
    [InlineData("-created_at")]
    [InlineData("name")]
    [InlineData("-updated_at")]
    [InlineData("type,-name")]
    public async Task Cursor_paging_visits_every_resource_once_in_sort_order(string sort)
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 11; i++)
        {
            await CreateAsync(user, new { name = $"n{i % 4}", type = $"t{i % 3}" });
            if (i % 2 == 0)
            {
                Server.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        var expected = (await Client.GetAsync($"/v1/resources?per_page=100&sort={sort}", user.Token)).Data.AsArray().Select(r => (string)r!["id"]!).ToList();
        var seen = new List<string>();
        string? cursor = null;
        var first = true;
        while (first || cursor is not null)
        {
            var url = $"/v1/resources?per_page=4&sort={sort}" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var response = (await Client.GetAsync(url, user.Token)).AssertStatus(HttpStatusCode.OK);
            Assert.Equal(11, (int?)response.Json["meta"]!["total"]);
            seen.AddRange(response.Data.AsArray().Select(r => (string)r!["id"]!));
            cursor = (string?)response.Json["meta"]!["next_cursor"];
            first = false;
        }

        Assert.Equal(expected, seen);
    }

    [Theory]
    [InlineData("sort=password")]
    [InlineData("sort=name;drop table resources")]
    [InlineData("sort=")]
    [InlineData("sort=name,name")]
    [InlineData("sort=--name")]
    [InlineData("filter[status]=deleted")]
    [InlineData("filter[owner_id]=usr_x")]
    [InlineData("filter[type]=")]
    [InlineData("page=0")]
    [InlineData("per_page=101")]
    [InlineData("per_page=ten")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("cursor=eyJTIjoiLWNyZWF0ZWRfYXQiLCJLIjpbXX0")]
    public async Task Bad_list_parameters_are_400_naming_the_parameter(string query)
    {
        var user = await Client.RegisterAsync();
        var problem = (await Client.GetAsync("/v1/resources?" + query, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        var parameter = Uri.UnescapeDataString(query[..query.IndexOf('=')]);
        Assert.NotNull(problem["errors"]![parameter]);
    }

    [Fact]
    public async Task A_cursor_is_bound_to_its_sort()
    {
        var user = await Client.RegisterAsync();
        for (var i = 0; i < 3; i++)
        {
            await CreateAsync(user, new { name = $"r{i}" });
        }

        var cursor = (string?)(await Client.GetAsync("/v1/resources?per_page=1&sort=name", user.Token)).Json["meta"]!["next_cursor"];
        Assert.NotNull(cursor);
        (await Client.GetAsync($"/v1/resources?per_page=1&sort=-name&cursor={cursor}", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.GetAsync($"/v1/resources?per_page=1&sort=name&page=2&cursor={cursor}", user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task A_nul_byte_in_the_path_is_refused_by_the_server_with_400()
    {
        var user = await Client.RegisterAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.GetAsync("/v1/resources/res_%00", user.Token)).Status);
    }

    [Fact]
    public async Task Etags_give_304_on_if_none_match_and_412_on_a_stale_if_match()
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "v1" }))["id"]!;

        var notModified = await Client.GetAsync($"/v1/resources/{id}", user.Token, r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"1\""));
        Assert.Equal(HttpStatusCode.NotModified, notModified.Status);
        Assert.Equal("\"1\"", notModified.Header("ETag"));
        Assert.Equal("", notModified.Body);
        (await Client.GetAsync($"/v1/resources/{id}", user.Token, r => r.Headers.TryAddWithoutValidation("If-None-Match", "\"7\""))).AssertStatus(HttpStatusCode.OK);

        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "v2" }, user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\"")))
            .AssertStatus(HttpStatusCode.OK);
        var stale = await Client.PatchAsync($"/v1/resources/{id}", new { name = "lost" }, user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\""));
        stale.AssertProblem(HttpStatusCode.PreconditionFailed, "precondition_failed");
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\"")))
            .AssertProblem(HttpStatusCode.PreconditionFailed, "precondition_failed");
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "garbage")))
            .AssertProblem(HttpStatusCode.PreconditionFailed, "precondition_failed");

        var current = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal("v2", (string?)current.Data["name"]);
        Assert.Equal("\"2\"", current.Header("ETag"));
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token, r => r.Headers.TryAddWithoutValidation("If-Match", "\"1\", \"2\"")))
            .AssertStatus(HttpStatusCode.NoContent);
    }

    [Fact]
    public async Task Concurrent_patches_never_lose_an_update()
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "counter" }))["id"]!;
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Client.SendAsync(HttpMethod.Patch, $"/v1/resources/{id}", ApiClient.JsonContent($$$"""{"metadata": {"k{{{i}}}": {{{i}}}}}"""), user.Token)));

        var final = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertStatus(HttpStatusCode.OK);
        Assert.Equal(20, final.Data["metadata"]!.AsObject().Count);
        Assert.Equal("\"21\"", final.Header("ETag"));
    }

    [Fact]
    public async Task A_retry_with_the_same_idempotency_key_replays_the_first_response()
    {
        var user = await Client.RegisterAsync();
        var key = Guid.NewGuid().ToString();
        void WithKey(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        var first = (await Client.PostAsync("/v1/resources", new { name = "once" }, user.Token, WithKey)).AssertStatus(HttpStatusCode.Created);
        Assert.Null(first.Header("Idempotent-Replayed"));
        var again = (await Client.PostAsync("/v1/resources", new { name = "once" }, user.Token, WithKey)).AssertStatus(HttpStatusCode.Created);

        Assert.Equal("true", again.Header("Idempotent-Replayed"));
        Assert.Equal(first.Body, again.Body);
        Assert.Equal(first.Header("Location"), again.Header("Location"));
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);

        (await Client.PostAsync("/v1/resources", new { name = "different" }, user.Token, WithKey)).AssertProblem(HttpStatusCode.Conflict, "conflict");
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);

        // The same key is another tenant's own business.
        var other = await Client.RegisterAsync();
        var theirs = (await Client.PostAsync("/v1/resources", new { name = "once" }, other.Token, WithKey)).AssertStatus(HttpStatusCode.Created);
        Assert.Null(theirs.Header("Idempotent-Replayed"));
        Assert.NotEqual((string?)first.Data["id"], (string?)theirs.Data["id"]);
    }

    [Fact]
    public async Task Concurrent_retries_with_one_key_create_exactly_one_resource()
    {
        var user = await Client.RegisterAsync();
        var key = Guid.NewGuid().ToString();
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            Client.PostAsync("/v1/resources", new { name = "racy" }, user.Token, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", key))));

        Assert.All(responses, r => r.AssertStatus(HttpStatusCode.Created));
        Assert.Single(responses.Select(r => (string?)r.Data["id"]).Distinct());
        Assert.Single(responses, r => r.Header("Idempotent-Replayed") is null);
        Assert.Equal(1, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task A_failed_request_does_not_burn_its_idempotency_key()
    {
        var user = await Client.RegisterAsync();
        void WithKey(HttpRequestMessage r) => r.Headers.TryAddWithoutValidation("Idempotency-Key", "fix-and-retry");
        (await Client.PostAsync("/v1/resources", new { name = "" }, user.Token, WithKey)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        (await Client.PostAsync("/v1/resources", new { name = "fixed" }, user.Token, WithKey)).AssertStatus(HttpStatusCode.Created);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tinside")]
    [InlineData("a-key-longer-than-255-characters-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    public async Task A_malformed_idempotency_key_is_400(string key)
    {
        var user = await Client.RegisterAsync();
        var response = await Client.PostAsync("/v1/resources", new { name = "x" }, user.Token, r => r.Headers.TryAddWithoutValidation("Idempotency-Key", key));
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]!["Idempotency-Key"]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task Creating_past_the_plan_cap_is_402_and_deleting_frees_a_place()
    {
        var user = await Client.RegisterAsync();
        string? last = null;
        for (var i = 0; i < 25; i++)
        {
            last = (string)(await CreateAsync(user, new { name = $"r{i}" }))["id"]!;
        }

        (await Client.PostAsync("/v1/resources", new { name = "one too many" }, user.Token)).AssertProblem(HttpStatusCode.PaymentRequired, "plan_limit_reached");
        Assert.Equal(25, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
        (await Client.DeleteAsync($"/v1/resources/{last}", user.Token)).AssertStatus(HttpStatusCode.NoContent);
        await CreateAsync(user, new { name = "fits again" });
    }

    [Theory]
    [InlineData("""{}""", "name")]
    [InlineData("""{"name": ""}""", "name")]
    [InlineData("""{"name": "   "}""", "name")]
    [InlineData("""{"name": 5}""", "name")]
    [InlineData("""{"name": null}""", "name")]
    [InlineData("""{"name": "ok", "status": "deleted"}""", "status")]
    [InlineData("""{"name": "ok", "status": null}""", "status")]
    [InlineData("""{"name": "ok", "type": ""}""", "type")]
    [InlineData("""{"name": "ok", "type": ["a"]}""", "type")]
    [InlineData("""{"name": "ok", "metadata": [1, 2]}""", "metadata")]
    [InlineData("""{"name": "ok", "metadata": "text"}""", "metadata")]
    [InlineData("""{"name": "ok", "description": {"a": 1}}""", "description")]
    public async Task Invalid_resources_are_400_naming_the_field_and_nothing_is_stored(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var response = await Client.SendAsync(HttpMethod.Post, "/v1/resources", ApiClient.JsonContent(body), user.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
        Assert.Equal(0, (int?)(await Client.GetAsync("/v1/resources", user.Token)).Json["meta"]!["total"]);
    }

    [Fact]
    public async Task A_name_of_201_characters_is_refused_and_200_accepted()
    {
        var user = await Client.RegisterAsync();
        (await Client.PostAsync("/v1/resources", new { name = new string('n', 201) }, user.Token)).AssertProblem(HttpStatusCode.BadRequest, "invalid_request");
        await CreateAsync(user, new { name = new string('n', 200) });
    }

    [Theory]
    [InlineData("""{"name": ""}""", "name")]
    [InlineData("""{"name": null}""", "name")]
    [InlineData("""{"status": "gone"}""", "status")]
    [InlineData("""{"metadata": 1}""", "metadata")]
    public async Task Invalid_patches_are_400_and_change_nothing(string body, string field)
    {
        var user = await Client.RegisterAsync();
        var id = (string)(await CreateAsync(user, new { name = "stable", metadata = new { a = 1 } }))["id"]!;
        var before = (await Client.GetAsync($"/v1/resources/{id}", user.Token)).Body;

        var response = await Client.SendAsync(HttpMethod.Patch, $"/v1/resources/{id}", ApiClient.JsonContent(body), user.Token);
        Assert.NotNull(response.AssertProblem(HttpStatusCode.BadRequest, "invalid_request")["errors"]![field]);
        Assert.Equal(before, (await Client.GetAsync($"/v1/resources/{id}", user.Token)).Body);
    }

    [Theory]
    [InlineData("res_")]
    [InlineData("res_..%2F..%2Fetc%2Fpasswd")]
    [InlineData("usr_AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("res_AAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("res_'%20OR%20'1'='1")]
    public async Task Hostile_or_unknown_resource_ids_are_404(string id)
    {
        var user = await Client.RegisterAsync();
        (await Client.GetAsync($"/v1/resources/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.PatchAsync($"/v1/resources/{id}", new { name = "x" }, user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
        (await Client.DeleteAsync($"/v1/resources/{id}", user.Token)).AssertProblem(HttpStatusCode.NotFound, "resource_not_found");
    }
}

[Collection(Servers.Embedded)]
public sealed class ResourceTestsOnEmbedded(EmbeddedServer server) : ResourceTests(server);

[Collection(Servers.Postgres)]
public sealed class ResourceTestsOnPostgres(PostgresServer server) : ResourceTests(server);
